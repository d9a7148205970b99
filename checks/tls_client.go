package checks

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// clientCertificate loads the client certificate SSL_GET presents: the
// SSL block's certificate and key (PEM; the key may sit in the
// certificate's file, as OpenSSL's SSL_CTX_use_PrivateKey_file allows),
// the key decrypted with password when it is a PEM-encrypted
// ("Proc-Type: 4,ENCRYPTED") key, as keepalived's password callback does.
func clientCertificate(certFile, keyFile, password string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("SSL certificate: %w", err)
	}
	keyPEM := certPEM
	if keyFile != "" && keyFile != certFile {
		if keyPEM, err = os.ReadFile(keyFile); err != nil {
			return tls.Certificate{}, fmt.Errorf("SSL key: %w", err)
		}
	}
	keyPEM, err = decryptedKey(keyPEM, password)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("SSL key %s: %w", keyFile, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("SSL certificate %s and key %s: %w", certFile, keyFile, err)
	}
	return cert, nil
}

// decryptedKey returns the PEM of the first private key in data,
// decrypted with password when it is encrypted.
func decryptedKey(data []byte, password string) ([]byte, error) {
	for rest := data; len(rest) > 0; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			continue
		}
		//lint:ignore SA1019 keepalived's keys are OpenSSL's legacy PEM encryption, which only this reads
		if !x509.IsEncryptedPEMBlock(block) {
			return pem.EncodeToMemory(block), nil
		}
		if password == "" {
			return nil, errors.New("the key is encrypted and the SSL block has no password")
		}
		//lint:ignore SA1019 see above
		der, err := x509.DecryptPEMBlock(block, []byte(password))
		if err != nil {
			return nil, fmt.Errorf("decrypting with the SSL block's password: %w", err)
		}
		// Legacy PEM encryption has no MAC: DecryptPEMBlock knows a
		// wrong password only by bad padding, and about one wrong
		// password in 256 pads well and yields garbage. A key that
		// does not parse after decrypting is that case, and is
		// reported as the password's, as OpenSSL's PEM reader does.
		if !isPrivateKeyDER(der) {
			return nil, fmt.Errorf("decrypting with the SSL block's password: %w", x509.IncorrectPasswordError)
		}
		return pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: der}), nil
	}
	return nil, errors.New("no PEM private key")
}

// isPrivateKeyDER reports whether der is a private key in one of the
// encodings tls.X509KeyPair reads: PKCS #1, PKCS #8 or SEC 1.
func isPrivateKeyDER(der []byte) bool {
	if _, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return true
	}
	if _, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return true
	}
	_, err := x509.ParseECPrivateKey(der)
	return err == nil
}
