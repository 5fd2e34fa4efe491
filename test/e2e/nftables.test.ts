/**
 * End to end through nftables: the real sknock-server and sknock programs in network
 * namespaces, IPv4 and IPv6 (the suite is in support/firewall-suite.ts).
 */
import { defineFirewallSuite } from './support/firewall-suite.js';

await defineFirewallSuite('nftables');
