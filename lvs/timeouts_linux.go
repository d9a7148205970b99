package lvs

// SetTimeouts implements TimeoutKernel (IPVS_CMD_SET_CONFIG) on the
// writer's socket.
func (k *linuxKernel) SetTimeouts(t Timeouts) error {
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	w := k.writer
	w.seq++
	msg := timeoutsMessage(w.family, w.seq, t)
	return w.command(msg, "IPVS_CMD_SET_CONFIG")
}
