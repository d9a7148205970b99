# Every attribute of the HCL schema; full.hcl.json is the same in HCL-JSON.
global {
  router_id              = "lb1"
  lvs_program            = "master"
  enable_script_security = true
  script_user            = "nobody nogroup"
  notify_timeout         = "10s"
  metrics_listen         = "127.0.0.1:9650"
  control_socket         = "/run/lvsd/test.sock"
  reconcile_interval     = 5
}

vrrp_script "chk_haproxy" {
  script   = "/usr/bin/pgrep haproxy"
  interval = 2
  timeout  = 1.5
  weight   = -20
  rise     = 2
  fall     = 3
}

vrrp_instance "VI_1" {
  state             = "master"
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 150
  advert_int        = 1
  authentication {
    auth_type = "PASS"
    auth_pass = "secret"
  }
  virtual_ipaddress          = ["192.0.2.100/24 dev eth0 label eth0:1", "192.0.2.101"]
  unicast_src_ip             = "198.51.100.1"
  unicast_peer               = ["198.51.100.2"]
  nopreempt                  = true
  preempt_delay              = 30
  garp_master_delay          = 2
  garp_master_repeat         = 3
  garp_master_refresh        = 60
  garp_master_refresh_repeat = 2
  track_interface            = ["eth1", "eth2 weight -10"]
  track_script               = ["chk_haproxy"]
  notify_master              = "/etc/lvsd/master.sh"
  notify_backup              = "/etc/lvsd/backup.sh"
  notify_fault               = "/etc/lvsd/fault.sh"
  notify_stop                = "/etc/lvsd/stop.sh"
  notify                     = "/etc/lvsd/notify.sh"
}

vrrp_instance "VI_GW" {
  interface         = "eth1"
  virtual_router_id = 52
  virtual_ipaddress = ["10.0.0.1/24 dev eth1"]
}

vrrp_sync_group "VG" {
  group         = ["VI_1", "VI_GW"]
  notify_master = "/etc/lvsd/group-master.sh"
}

virtual_server "192.0.2.100:443" {
  protocol                = "TCP"
  delay_loop              = 10
  lb_algo                 = "sh"
  scheduler_flags         = ["sh-port"]
  lb_kind                 = "NAT"
  persistence_timeout     = 600
  persistence_granularity = "255.255.255.0"
  quorum                  = 2
  hysteresis              = 1
  quorum_up               = "/etc/lvsd/quorum-up.sh"
  quorum_down             = "/etc/lvsd/quorum-down.sh"
  alpha                   = true
  omega                   = true
  inhibit_on_failure      = true
  virtualhost             = "www.example.com"
  sorry_server            = "10.0.0.250:8443"
  sorry_server_lvs_method = "NAT"

  real_server "10.0.0.11:8443" {
    weight      = 3
    notify_up   = "/etc/lvsd/up.sh"
    notify_down = "/etc/lvsd/down.sh"
    uthreshold  = 1000
    lthreshold  = 100
    SSL_GET {
      url {
        path        = "/health"
        status_code = ["200-299", 301]
        digest      = "9B3A0C85A887A256D6939DA88AABD8CD"
      }
      url {
        path           = "/ready"
        regex          = "ok|ready"
        regex_no_match = false
        virtualhost    = "ready.example.com"
      }
      http_protocol      = "1.1"
      enable_sni         = true
      tls_verify         = true
      ca_file            = "/etc/ssl/certs/ca.pem"
      connect_ip         = "10.0.1.11"
      connect_port       = 9443
      bindto             = "10.0.0.2"
      bind_port          = 40000
      fwmark             = 7
      connect_timeout    = 2
      retry              = 3
      delay_before_retry = "500ms"
      warmup             = 5
      delay_loop         = 4
      rise               = 2
    }
  }

  real_server "10.0.0.12:8443" {
    inhibit_on_failure = false
    MISC_CHECK {
      misc_path    = "/usr/local/bin/check-app 10.0.0.12"
      misc_timeout = 3
      misc_dynamic = true
      user         = "nobody"
    }
    TCP_CHECK {
      nb_get_retry = 2
    }
    HTTP_GET {
      url {
        path = "/"
      }
      virtualhost = "app.example.com"
    }
  }
}

virtual_server "fwmark 7" {
  lb_kind       = "DR"
  lb_algo       = "wrr"
  vrrp_instance = "VI_1"
  real_server "192.0.2.21" {
    TCP_CHECK {
      connect_port = 80
    }
  }
}

virtual_server "[2001:db8::100]:80" {
  protocol      = "UDP"
  ops           = true
  vrrp_instance = "VI_1"
  real_server "[2001:db8::11]:80" {}
}
