# A direct-routing director pair in one file: copy it to both directors.
# lb1 is the preferred MASTER; lb2 takes over when lb1 stops advertising.
# Real servers hold 192.0.2.100 on lo with arp_ignore=1, arp_announce=2.

global {
  router_id   = hostname()
  lvs_program = "master" # program IPVS only on the MASTER
}

vrrp_instance "VI_WEB" {
  state             = hostname() == "lb1" ? "MASTER" : "BACKUP"
  interface         = "eth0"
  virtual_router_id = 51
  priority          = hostname() == "lb1" ? 150 : 100
  advert_int        = 1

  authentication {
    auth_type = "PASS"
    auth_pass = "s3cret"
  }

  virtual_ipaddress = ["192.0.2.100/24 dev eth0 label eth0:web"]
  notify            = "/etc/lvsd/notify.sh"
}

virtual_server "192.0.2.100:80" {
  delay_loop          = 6
  lb_algo             = "wrr"
  lb_kind             = "DR"
  protocol            = "TCP"
  persistence_timeout = 0
  quorum              = 1
  sorry_server        = "192.0.2.250:80"

  real_server "192.0.2.11:80" {
    weight = 2

    HTTP_GET {
      url {
        path        = "/healthz"
        status_code = ["200-299"]
      }
      connect_timeout    = 3
      retry              = 2
      delay_before_retry = 2
    }
  }

  real_server "192.0.2.12:80" {
    weight = 1

    TCP_CHECK {
      connect_timeout = 3
    }
  }
}
