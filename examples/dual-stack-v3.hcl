# A dual-stack direct-routing pair in VRRPv3 (RFC 5798): one instance per
# address family, as keepalived requires, on the same VRID, tied by a sync
# group so that the IPv4 and the IPv6 VIP always move together. advert_int
# 0.1 gives a Master_Down_Interval of 0.36 s on lb2 (3 × 0.1 s + Skew_Time).
# IPv6 VIPs are announced with unsolicited neighbour advertisements.

global {
  router_id    = hostname()
  lvs_program  = "master"
  vrrp_version = 3
}

vrrp_instance "VI_4" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = hostname() == "lb1" ? 150 : 100
  advert_int        = 0.1
  virtual_ipaddress = ["192.0.2.100/24 dev eth0"]
}

vrrp_instance "VI_6" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = hostname() == "lb1" ? 150 : 100
  advert_int        = 0.1
  virtual_ipaddress = ["2001:db8::100/64 dev eth0"]
}

vrrp_sync_group "WEB" {
  group = ["VI_4", "VI_6"]
}

virtual_server "192.0.2.100:80" {
  lb_algo  = "wrr"
  lb_kind  = "DR"
  protocol = "TCP"

  real_server "192.0.2.11:80" {
    TCP_CHECK {
      connect_timeout = 3
    }
  }
  real_server "192.0.2.12:80" {
    TCP_CHECK {
      connect_timeout = 3
    }
  }
}

virtual_server "[2001:db8::100]:80" {
  lb_algo  = "wrr"
  lb_kind  = "DR"
  protocol = "TCP"

  real_server "[2001:db8::11]:80" {
    TCP_CHECK {
      connect_timeout = 3
    }
  }
  real_server "[2001:db8::12]:80" {
    TCP_CHECK {
      connect_timeout = 3
    }
  }
}
