// A NetworkPolicy reduced to addresses: the contract between raven-controller, which resolves
// selectors, namespaces and named ports against the cluster, and each node's raven-agent, which
// enforces the policy for its own pods and needs to know nothing else of the cluster. The
// embedded backend keeps one per NetworkPolicy as a raven.io/v1 CompiledPolicy.
import { z } from "zod";
import { IPV4_CIDR_PATTERN, IPV4_PATTERN } from "../sdn/ipam.ts";

const ipv4 = z.string().regex(new RegExp(IPV4_PATTERN), "not a canonical IPv4 address");
const cidr = z.string().regex(new RegExp(IPV4_CIDR_PATTERN), "not a canonical IPv4 CIDR");
const port = z.number().int().min(1).max(65535);
export const PolicyProtocolSchema = z.enum(["TCP", "UDP", "SCTP"]);
export type PolicyProtocol = z.infer<typeof PolicyProtocolSchema>;

/** Numeric ports: one, a range (endPort), or every port of the protocol (no port). */
const PortRangeSchema = z.object({
  protocol: PolicyProtocolSchema,
  port: port.optional(),
  endPort: port.optional(),
});
/** A named port resolved on one pod: that pod's address, with the number the name has there. */
const ResolvedPortSchema = z.object({ ip: ipv4, protocol: PolicyProtocolSchema, port });

export const CompiledRuleSchema = z.object({
  /**
   * Who is on the other side. Absent: anyone. Present: the selected pods' addresses and the
   * ipBlocks (each CIDR minus its except); an empty list of both matches no one.
   */
  peers: z
    .object({
      pods: z.array(ipv4),
      blocks: z.array(z.object({ cidr, except: z.array(cidr).optional() })).optional(),
    })
    .optional(),
  /** Absent: every port and protocol. Present: these numeric ports... */
  ports: z.array(PortRangeSchema).optional(),
  /**
   * ...and the named ones, resolved per pod: on the policy's own pods for ingress, on the peer
   * pods for egress (the destination is the pod whose container declares the name). Present
   * whenever the rule names a port, even when no pod resolves it (then it allows nothing).
   */
  named: z.array(ResolvedPortSchema).optional(),
});
export type CompiledRule = z.infer<typeof CompiledRuleSchema>;

export const CompiledPolicySchema = z.object({
  /** The NetworkPolicy it was compiled from. */
  policy: z.object({ namespace: z.string(), name: z.string(), uid: z.string() }),
  /** The directions the policy isolates its pods in (its policyTypes). */
  isolates: z.object({ ingress: z.boolean(), egress: z.boolean() }),
  /** The pods it selects, by address and node: each node enforces it for its own. */
  targets: z.array(z.object({ ip: ipv4, node: z.string() })),
  /** Allowed connections into the targets (used when isolates.ingress). */
  ingress: z.array(CompiledRuleSchema),
  /** Allowed connections out of the targets (used when isolates.egress). */
  egress: z.array(CompiledRuleSchema),
});
export type CompiledPolicy = z.infer<typeof CompiledPolicySchema>;

/** Parses a stored compiled policy; throws with zod's message when it is not one. */
export function parseCompiledPolicy(value: unknown): CompiledPolicy {
  return CompiledPolicySchema.parse(value);
}
