# A NAT director pair. The directors sit between clients (eth0) and the real
# servers (eth1). The real servers' default route is the inside gateway VIP
# 10.0.0.1, which must move with the public VIP: both instances are in one
# vrrp_sync_group, so they change state together.

vrrp_instance "VI_PUBLIC" {
  state             = hostname() == "lb1" ? "MASTER" : "BACKUP"
  interface         = "eth0"
  virtual_router_id = 61
  priority          = hostname() == "lb1" ? 150 : 100
  advert_int        = 1
  authentication {
    auth_type = "PASS"
    auth_pass = "n4tpair"
  }
  virtual_ipaddress = ["203.0.113.10/24 dev eth0"]
}

vrrp_instance "VI_GATEWAY" {
  state             = hostname() == "lb1" ? "MASTER" : "BACKUP"
  interface         = "eth1"
  virtual_router_id = 62
  priority          = hostname() == "lb1" ? 150 : 100
  advert_int        = 1
  authentication {
    auth_type = "PASS"
    auth_pass = "n4tpair"
  }
  virtual_ipaddress = ["10.0.0.1/24 dev eth1"]
}

vrrp_sync_group "VG_NAT" {
  group  = ["VI_PUBLIC", "VI_GATEWAY"]
  notify = "/etc/lvsd/notify.sh"
}

virtual_server "203.0.113.10:443" {
  delay_loop          = 5
  lb_algo             = "wlc"
  lb_kind             = "NAT"
  protocol            = "TCP"
  persistence_timeout = 300
  quorum              = 2
  hysteresis          = 1
  sorry_server        = "10.0.0.250:8443"

  real_server "10.0.0.11:8443" {
    weight = 1
    SSL_GET {
      url {
        path        = "/health"
        status_code = ["200-299"]
      }
      enable_sni      = true
      connect_timeout = 3
    }
  }

  real_server "10.0.0.12:8443" {
    weight = 1
    SSL_GET {
      url {
        path        = "/health"
        status_code = ["200-299"]
      }
      enable_sni      = true
      connect_timeout = 3
    }
  }
}
