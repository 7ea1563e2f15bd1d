// The configuration files of the sandbox's OpenStack services (from ../shared/rigs/openstack's
// measured setup): neutron-server without Keystone, agents or message bus; Octavia's amphora
// provider with no-op compute, network and amphora drivers; RabbitMQ on loopback only.

export interface OpenStackPorts {
  neutron: number;
  octavia: number;
  rabbit: number;
  rabbitDist: number;
  epmd: number;
  postgres: number;
}

export function neutronConf(o: { state: string; host: string; port: number; dbUrl: string }): string {
  return `# Rendered by raven's sandbox (src/sandbox/openstack/configs.ts).
[DEFAULT]
bind_host = ${o.host}
bind_port = ${o.port}
# noauth: requests without X-Project-Id get an admin context (project fake_project_id).
auth_strategy = noauth
api_paste_config = /etc/neutron/api-paste.ini
core_plugin = ml2
service_plugins = router
# No agents: their notifications go nowhere.
transport_url = fake://
api_workers = 0
rpc_workers = 1
rpc_state_report_workers = 0
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
allow_overlapping_ips = true
# No DHCP agents to schedule or notify (saves ~40 ms per port create and delete).
network_auto_schedule = false
router_auto_schedule = false
dhcp_agent_notification = false
enable_traditional_dhcp = false
state_path = ${o.state}/neutron
log_file = ${o.state}/logs/neutron-server.log
debug = false
use_stderr = false

[database]
connection = ${o.dbUrl}

[oslo_concurrency]
lock_path = ${o.state}/neutron/lock

[oslo_policy]
policy_dirs = /etc/neutron/policy.d

[ml2]
type_drivers = flat,vlan,vxlan,local
tenant_network_types = vxlan
# No mechanism driver: ports stay unbound; raven-agent plugs them on the nodes.
mechanism_drivers =
extension_drivers = port_security

[ml2_type_vxlan]
vni_ranges = 1:4000

[ml2_type_flat]
flat_networks = public

[securitygroup]
enable_security_group = true

[quotas]
quota_network = -1
quota_subnet = -1
quota_port = -1
quota_router = -1
quota_floatingip = -1
quota_security_group = -1
quota_security_group_rule = -1
`;
}

export function octaviaConf(o: {
  state: string;
  host: string;
  port: number;
  rabbitPort: number;
  dbUrl: string;
}): string {
  return `# Rendered by raven's sandbox (src/sandbox/openstack/configs.ts).
[DEFAULT]
transport_url = rabbit://guest:guest@127.0.0.1:${o.rabbitPort}/
log_file = ${o.state}/logs/octavia.log
debug = false
use_stderr = false

[api_settings]
bind_host = ${o.host}
bind_port = ${o.port}
auth_strategy = noauth
api_base_uri = http://${o.host}:${o.port}
# Octavia's own noop_driver provider leaves load balancers PENDING_CREATE forever.
enabled_provider_drivers = amphora:Amphora provider (no-op compute/network/amphora drivers)
default_provider_driver = amphora

[database]
connection = ${o.dbUrl}

[controller_worker]
workers = 1
amphora_driver = amphora_noop_driver
compute_driver = compute_noop_driver
network_driver = network_noop_driver
volume_driver = volume_noop_driver
image_driver = image_noop_driver
distributor_driver = distributor_noop_driver
loadbalancer_topology = SINGLE
client_ca = ${o.state}/octavia/certs/ca_01.pem
amp_active_retries = 3
amp_active_wait_sec = 1

[certificates]
cert_generator = local_cert_generator
cert_manager = local_cert_manager
ca_certificate = ${o.state}/octavia/certs/ca_01.pem
ca_private_key = ${o.state}/octavia/certs/ca_key.pem
storage_path = ${o.state}/octavia/certstore

[haproxy_amphora]
base_path = ${o.state}/octavia/amp
base_cert_dir = ${o.state}/octavia/amp-certs

[oslo_messaging]
topic = octavia_prov

[oslo_messaging_rabbit]
# The worker may start before RabbitMQ: retry every second.
rabbit_retry_interval = 1
rabbit_retry_backoff = 0

[oslo_concurrency]
lock_path = ${o.state}/octavia/lock

[oslo_policy]
policy_dirs = /etc/octavia/policy.d

[task_flow]
engine = parallel

[quotas]
default_load_balancer_quota = -1
default_listener_quota = -1
default_member_quota = -1
default_pool_quota = -1
default_health_monitor_quota = -1
`;
}

export function rabbitConf(port: number): string {
  return `listeners.tcp.default = 127.0.0.1:${port}
loopback_users.guest = true
log.console = false
log.file.level = warning
disk_free_limit.absolute = 50MB
vm_memory_high_watermark.relative = 0.8
`;
}

/** clouds.yaml for the services: the real openstack CLI and Raven read it (auth_type none). */
export function cloudsYaml(
  cloud: string,
  host: string,
  ports: Pick<OpenStackPorts, "neutron" | "octavia">,
): string {
  return `clouds:
  ${cloud}:
    auth_type: none
    auth:
      endpoint: "http://${host}:${ports.neutron}"
    # Raven's own key: without Keystone there is no token to scope, so Raven creates its
    # objects in this project (the openstack CLI ignores it).
    raven_project_id: raven
    network_endpoint_override: "http://${host}:${ports.neutron}/"
    load_balancer_endpoint_override: "http://${host}:${ports.octavia}/"
`;
}
