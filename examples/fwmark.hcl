# A firewall-mark service: every port of 192.0.2.200 that iptables marks 1
# (e.g. 80 and 443, so one client sticks to one real server for both):
#   iptables -t mangle -A PREROUTING -d 192.0.2.200 -p tcp -m multiport --dports 80,443 -j MARK --set-mark 1
# A fwmark service has no address of its own, so it names its VRRP instance.

vrrp_instance "VI_WEB" {
  state             = hostname() == "lb1" ? "MASTER" : "BACKUP"
  interface         = "eth0"
  virtual_router_id = 71
  priority          = hostname() == "lb1" ? 150 : 100
  virtual_ipaddress = ["192.0.2.200/24"]
}

virtual_server "fwmark 1" {
  vrrp_instance       = "VI_WEB"
  lb_algo             = "wrr"
  lb_kind             = "DR"
  persistence_timeout = 600
  delay_loop          = 10

  real_server "192.0.2.21" {
    weight = 3
    TCP_CHECK {
      connect_port = 443
    }
  }

  real_server "192.0.2.22" {
    weight = 1
    TCP_CHECK {
      connect_port = 443
    }
  }
}
