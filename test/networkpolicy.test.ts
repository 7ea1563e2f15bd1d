// NetworkPolicy with the embedded backend: raven-controller compiles each policy into a
// CompiledPolicy, each node's raven-agent enforces it in nftables. The truth table, Services and
// kubelet probes: test/support/networkpolicy-tests.ts.
import { networkPolicyTests } from "./support/networkpolicy-tests.ts";

networkPolicyTests("embedded");
