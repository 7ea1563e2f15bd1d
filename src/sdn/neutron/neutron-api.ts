// Neutron v2.0, the calls Raven makes: networks, subnets, ports (bulk create), routers and their
// interfaces, floating IPs, security groups, tags, filtered and paged lists. Objects come back
// in Neutron's own shapes (the model's, plus the fields only Neutron has).
import type { FloatingIp, Network, Port, Subnet } from "../model.ts";
import type { OpenStackClient, Query } from "./client.ts";
import { OpenStackError } from "./http.ts";

/** What every Neutron resource carries besides the model's fields. */
export interface NeutronExtra {
  project_id: string;
  tags: string[];
  description?: string;
}
export type NeutronNetwork = Network & NeutronExtra;
export type NeutronSubnet = Subnet & NeutronExtra & { subnetpool_id?: string | null };
export type NeutronPort = Port & NeutronExtra & { security_groups?: string[]; "binding:vif_type"?: string };
export type NeutronFloatingIp = FloatingIp & NeutronExtra;
export interface NeutronRouter extends NeutronExtra {
  id: string;
  name: string;
  status: string;
  external_gateway_info: { network_id: string } | null;
}
export interface NeutronSecurityGroupRule {
  id: string;
  security_group_id?: string;
  direction: string;
  ethertype?: string;
  protocol: string | null;
  port_range_min?: number | null;
  port_range_max?: number | null;
  remote_ip_prefix: string | null;
  remote_group_id?: string | null;
}
export interface NeutronSecurityGroup extends NeutronExtra {
  id: string;
  name: string;
  security_group_rules: NeutronSecurityGroupRule[];
}
export interface SecurityGroupRuleCreate {
  security_group_id: string;
  direction: "ingress" | "egress";
  ethertype?: "IPv4";
  protocol?: string;
  port_range_min?: number;
  port_range_max?: number;
  remote_ip_prefix?: string;
}

export type Taggable = "networks" | "subnets" | "ports" | "routers" | "floatingips" | "security-groups";

export interface PortCreate {
  name: string;
  network_id: string;
  fixed_ips?: { subnet_id: string; ip_address?: string }[];
  device_owner?: string;
  device_id?: string;
  "binding:host_id"?: string;
  admin_state_up?: boolean;
  security_groups?: string[];
  description?: string;
  project_id?: string;
}

const NET = "network" as const;

/** The Neutron error type of `err`, e.g. IpAddressAlreadyAllocated; undefined for other errors. */
export const neutronErrorType = (err: unknown) => (err instanceof OpenStackError ? err.type : undefined);

/** A 404 from a DELETE: already gone, which is what the caller wanted. */
function gone(err: unknown): boolean {
  return err instanceof OpenStackError && err.status === 404;
}

export class NeutronApi {
  private readonly c: OpenStackClient;

  constructor(client: OpenStackClient) {
    this.c = client;
  }

  // Networks and subnets.
  async createNetwork(body: {
    name: string;
    description?: string;
    project_id?: string;
    "router:external"?: boolean;
    shared?: boolean;
  }): Promise<NeutronNetwork> {
    return (await this.c.call<{ network: NeutronNetwork }>(NET, "POST", "/networks", { network: body }))
      .network;
  }
  listNetworks(query?: Query): Promise<NeutronNetwork[]> {
    return this.c.list(NET, "/networks", "networks", query);
  }
  async deleteNetwork(id: string): Promise<void> {
    await this.c.call(NET, "DELETE", `/networks/${id}`).catch((err) => {
      if (!gone(err)) throw err;
    });
  }
  async createSubnet(body: {
    name: string;
    network_id: string;
    ip_version: 4;
    cidr?: string;
    subnetpool_id?: string;
    prefixlen?: number;
    gateway_ip?: string | null;
    allocation_pools?: { start: string; end: string }[];
    enable_dhcp?: boolean;
    description?: string;
    project_id?: string;
  }): Promise<NeutronSubnet> {
    return (await this.c.call<{ subnet: NeutronSubnet }>(NET, "POST", "/subnets", { subnet: body })).subnet;
  }
  listSubnets(query?: Query): Promise<NeutronSubnet[]> {
    return this.c.list(NET, "/subnets", "subnets", query);
  }
  async deleteSubnet(id: string): Promise<void> {
    await this.c.call(NET, "DELETE", `/subnets/${id}`).catch((err) => {
      if (!gone(err)) throw err;
    });
  }

  // Ports.
  async createPort(body: PortCreate): Promise<NeutronPort> {
    return (await this.c.call<{ port: NeutronPort }>(NET, "POST", "/ports", { port: body })).port;
  }
  /** Several ports in one request (Neutron's bulk create: all or none). */
  async createPorts(bodies: PortCreate[]): Promise<NeutronPort[]> {
    if (!bodies.length) return [];
    return (await this.c.call<{ ports: NeutronPort[] }>(NET, "POST", "/ports", { ports: bodies })).ports;
  }
  async getPort(id: string): Promise<NeutronPort | undefined> {
    try {
      return (await this.c.call<{ port: NeutronPort }>(NET, "GET", `/ports/${id}`)).port;
    } catch (err) {
      if (gone(err)) return undefined;
      throw err;
    }
  }
  async updatePort(id: string, body: Partial<PortCreate>): Promise<NeutronPort> {
    return (await this.c.call<{ port: NeutronPort }>(NET, "PUT", `/ports/${id}`, { port: body })).port;
  }
  listPorts(query?: Query): Promise<NeutronPort[]> {
    return this.c.list(NET, "/ports", "ports", query);
  }
  async deletePort(id: string): Promise<void> {
    await this.c.call(NET, "DELETE", `/ports/${id}`).catch((err) => {
      if (!gone(err)) throw err;
    });
  }

  // Tags: Zed refuses them in a POST, so they follow the create.
  async addTag(resource: Taggable, id: string, tag: string): Promise<void> {
    await this.c.call(NET, "PUT", `/${resource}/${id}/tags/${encodeURIComponent(tag)}`);
  }
  /** Replaces the resource's tags with `tags` (one request). */
  async setTags(resource: Taggable, id: string, tags: string[]): Promise<string[]> {
    return (await this.c.call<{ tags: string[] }>(NET, "PUT", `/${resource}/${id}/tags`, { tags })).tags;
  }

  // Routers.
  async createRouter(body: {
    name: string;
    external_gateway_info?: {
      network_id: string;
      external_fixed_ips?: { subnet_id: string; ip_address?: string }[];
    };
    project_id?: string;
    description?: string;
  }): Promise<NeutronRouter> {
    return (await this.c.call<{ router: NeutronRouter }>(NET, "POST", "/routers", { router: body })).router;
  }
  listRouters(query?: Query): Promise<NeutronRouter[]> {
    return this.c.list(NET, "/routers", "routers", query);
  }
  async addRouterInterface(routerId: string, subnetId: string): Promise<void> {
    await this.c.call(NET, "PUT", `/routers/${routerId}/add_router_interface`, { subnet_id: subnetId });
  }
  async removeRouterInterface(routerId: string, subnetId: string): Promise<void> {
    await this.c
      .call(NET, "PUT", `/routers/${routerId}/remove_router_interface`, { subnet_id: subnetId })
      .catch((err) => {
        if (!gone(err)) throw err;
      });
  }
  async deleteRouter(id: string): Promise<void> {
    await this.c.call(NET, "DELETE", `/routers/${id}`).catch((err) => {
      if (!gone(err)) throw err;
    });
  }

  // Floating IPs.
  async createFloatingIp(body: {
    floating_network_id: string;
    floating_ip_address?: string;
    port_id?: string;
    fixed_ip_address?: string;
    description?: string;
    project_id?: string;
  }): Promise<NeutronFloatingIp> {
    return (
      await this.c.call<{ floatingip: NeutronFloatingIp }>(NET, "POST", "/floatingips", { floatingip: body })
    ).floatingip;
  }
  /** Associates (port and address) or, with `port_id: null`, disassociates. */
  async updateFloatingIp(
    id: string,
    body: { port_id: string | null; fixed_ip_address?: string },
  ): Promise<NeutronFloatingIp> {
    return (
      await this.c.call<{ floatingip: NeutronFloatingIp }>(NET, "PUT", `/floatingips/${id}`, {
        floatingip: body,
      })
    ).floatingip;
  }
  listFloatingIps(query?: Query): Promise<NeutronFloatingIp[]> {
    return this.c.list(NET, "/floatingips", "floatingips", query);
  }
  async deleteFloatingIp(id: string): Promise<void> {
    await this.c.call(NET, "DELETE", `/floatingips/${id}`).catch((err) => {
      if (!gone(err)) throw err;
    });
  }

  // Security groups.
  async createSecurityGroup(body: {
    name: string;
    description?: string;
    project_id?: string;
  }): Promise<NeutronSecurityGroup> {
    return (
      await this.c.call<{ security_group: NeutronSecurityGroup }>(NET, "POST", "/security-groups", {
        security_group: body,
      })
    ).security_group;
  }
  async getSecurityGroup(id: string): Promise<NeutronSecurityGroup | undefined> {
    try {
      return (
        await this.c.call<{ security_group: NeutronSecurityGroup }>(NET, "GET", `/security-groups/${id}`)
      ).security_group;
    } catch (err) {
      if (gone(err)) return undefined;
      throw err;
    }
  }
  listSecurityGroups(query?: Query): Promise<NeutronSecurityGroup[]> {
    return this.c.list(NET, "/security-groups", "security_groups", query);
  }
  /** Several rules in one request (all or none). */
  async createSecurityGroupRules(bodies: SecurityGroupRuleCreate[]): Promise<NeutronSecurityGroupRule[]> {
    if (!bodies.length) return [];
    return (
      await this.c.call<{ security_group_rules: NeutronSecurityGroupRule[] }>(
        NET,
        "POST",
        "/security-group-rules",
        {
          security_group_rules: bodies,
        },
      )
    ).security_group_rules;
  }
  async deleteSecurityGroupRule(id: string): Promise<void> {
    await this.c.call(NET, "DELETE", `/security-group-rules/${id}`).catch((err) => {
      if (!gone(err)) throw err;
    });
  }
  async deleteSecurityGroup(id: string): Promise<void> {
    await this.c.call(NET, "DELETE", `/security-groups/${id}`).catch((err) => {
      if (!gone(err)) throw err;
    });
  }
}
