package fullnat

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// TableName is lvsd's nftables table (family ip): `nft list table ip
// lvsd_fullnat` shows it.
const (
	TableName = "lvsd_fullnat"
	chainName = "postrouting"
)

// Table is the FULLNAT table of one network namespace.
type Table struct {
	conn    *nftables.Conn
	netns   string // the namespace's path, "" for the current one
	procSys string // /proc/sys of the namespace lvsd runs in
	log     *slog.Logger
}

// Open connects to the nf_tables of the network namespace at netnsPath
// ("" for the current one; procSys is its /proc/sys, "" for /proc/sys)
// and checks that the kernel has it: without nf_tables (or its NAT)
// FULLNAT cannot be offered, and the error says so.
func Open(netnsPath, procSys string, log *slog.Logger) (*Table, error) {
	if procSys == "" {
		procSys = "/proc/sys"
	}
	var opts []nftables.ConnOption
	if netnsPath != "" {
		f, err := os.Open(netnsPath)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		opts = append(opts, nftables.WithNetNSFd(int(f.Fd())), nftables.AsLasting())
	}
	conn, err := nftables.New(opts...)
	if err != nil {
		return nil, refusal(err)
	}
	if _, err := conn.ListTablesOfFamily(nftables.TableFamilyIPv4); err != nil {
		return nil, refusal(err)
	}
	return &Table{conn: conn, netns: netnsPath, procSys: procSys, log: log}, nil
}

func refusal(err error) error {
	return fmt.Errorf("lb_kind FNAT needs nf_tables with NAT in the kernel (modules nf_tables, nft_nat, nft_chain_nat, nft_ct): %w", err)
}

func (t *Table) table() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}
}

func (t *Table) chain() *nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return &nftables.Chain{Name: chainName, Table: t.table(), Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource, Policy: &accept}
}

// current reads lvsd's rules (their handles, by tag); a missing table is
// none.
func (t *Table) current() (map[string]*nftables.Rule, bool, error) {
	tables, err := t.conn.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, false, err
	}
	if !slices.ContainsFunc(tables, func(tb *nftables.Table) bool { return tb.Name == TableName }) {
		return nil, false, nil
	}
	tagged, err := t.dumpRules()
	if err != nil {
		return nil, false, err
	}
	out := make(map[string]*nftables.Rule, len(tagged))
	for tag, handle := range tagged {
		out[tag] = &nftables.Rule{Table: t.table(), Chain: t.chain(), Handle: handle, UserData: []byte(tag)}
	}
	return out, true, nil
}

// dumpRules lists the rules of lvsd's chain by tag (user data) and
// handle with an NFT_MSG_GETRULE dump of its own. github.com/google/nftables
// v0.3.0's GetRules cannot read them back: it takes the kernel's u8
// NFTA_CT_DIRECTION for a u32 and refuses the whole rule.
func (t *Table) dumpRules() (map[string]uint64, error) {
	cfg := &netlink.Config{}
	if t.netns != "" {
		f, err := os.Open(t.netns)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		cfg.NetNS = int(f.Fd())
	}
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	attrs, err := netlink.MarshalAttributes([]netlink.Attribute{
		{Type: unix.NFTA_RULE_TABLE, Data: append([]byte(TableName), 0)},
		{Type: unix.NFTA_RULE_CHAIN, Data: append([]byte(chainName), 0)},
	})
	if err != nil {
		return nil, err
	}
	req := netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETRULE),
			Flags: netlink.Request | netlink.Dump,
		},
		// struct nfgenmsg: family, version, resource id.
		Data: append([]byte{unix.NFPROTO_IPV4, unix.NFNETLINK_V0, 0, 0}, attrs...),
	}
	msgs, err := c.Execute(req)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, m := range msgs {
		if len(m.Data) < 4 {
			continue
		}
		ad, err := netlink.NewAttributeDecoder(m.Data[4:])
		if err != nil {
			return nil, err
		}
		var handle uint64
		var tag string
		for ad.Next() {
			switch ad.Type() {
			case unix.NFTA_RULE_HANDLE:
				if b := ad.Bytes(); len(b) == 8 {
					handle = binary.BigEndian.Uint64(b)
				}
			case unix.NFTA_RULE_USERDATA:
				tag = string(ad.Bytes())
			}
		}
		if err := ad.Err(); err != nil {
			return nil, err
		}
		out[tag] = handle
	}
	return out, nil
}

// Rules reads the rules lvsd's table holds, by their tags.
func (t *Table) Rules() ([]Rule, error) {
	cur, _, err := t.current()
	if err != nil {
		return nil, err
	}
	var out []Rule
	for tag := range cur {
		if r, ok := parseTag(tag); ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// Apply makes lvsd's table hold exactly want: the table and its chain
// are created when missing, rules that are missing added, rules no
// longer wanted (or not lvsd's) deleted; rules already right are left
// alone, so their connections are not touched. With FULLNAT services it
// sets net.ipv4.vs.conntrack to 1 (IPVS then keeps conntrack entries,
// which the source NAT needs). It returns the number of rules changed.
func (t *Table) Apply(want []Rule) (int, error) {
	cur, exists, err := t.current()
	if err != nil {
		return 0, fmt.Errorf("reading nftables table %s: %w", TableName, err)
	}
	if len(want) == 0 && !exists {
		return 0, nil
	}
	if len(want) > 0 {
		if err := os.WriteFile(filepath.Join(t.procSys, "net/ipv4/vs/conntrack"), []byte("1\n"), 0o644); err != nil {
			return 0, fmt.Errorf("FULLNAT: setting net.ipv4.vs.conntrack: %w", err)
		}
	}
	if !exists {
		// The table and its chain go first, in a batch of their own (a
		// rule in the batch that creates its chain is refused, ENOENT).
		t.conn.AddTable(t.table())
		t.conn.AddChain(t.chain())
		if err := t.conn.Flush(); err != nil {
			return 0, refusal(fmt.Errorf("creating table %s: %w", TableName, err))
		}
	}
	changed := 0
	wanted := map[string]bool{}
	for _, r := range want {
		tag := r.Tag()
		wanted[tag] = true
		if cur[tag] != nil {
			continue
		}
		t.conn.AddRule(&nftables.Rule{Table: t.table(), Chain: t.chain(), Exprs: r.exprs(), UserData: []byte(tag)})
		changed++
	}
	for tag, r := range cur {
		if wanted[tag] {
			continue
		}
		if err := t.conn.DelRule(r); err != nil {
			return 0, err
		}
		changed++
	}
	if err := t.conn.Flush(); err != nil {
		return 0, fmt.Errorf("nftables table %s: %w", TableName, err)
	}
	if changed > 0 {
		t.log.Info("FULLNAT source NAT rules applied", "table", "ip "+TableName, "rules", len(want), "changed", changed)
	}
	return changed, nil
}

// Close releases the connection.
func (t *Table) Close() error { return t.conn.CloseLasting() }

// Remove deletes lvsd's table (lvsd's own: nothing else in the ruleset
// is touched); a missing table is fine.
func (t *Table) Remove() error {
	_, exists, err := t.current()
	if err != nil || !exists {
		return err
	}
	t.conn.DelTable(t.table())
	if err := t.conn.Flush(); err != nil {
		return fmt.Errorf("removing nftables table %s: %w", TableName, err)
	}
	t.log.Info("FULLNAT table removed", "table", "ip "+TableName)
	return nil
}
