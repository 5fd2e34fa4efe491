/**
 * End to end through iptables and ip6tables: the real sknock-server and sknock programs in
 * network namespaces, IPv4 and IPv6 (the suite is in support/firewall-suite.ts).
 */
import { defineFirewallSuite } from './support/firewall-suite.js';

await defineFirewallSuite('iptables');
