import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FirewallSetup, Grant } from '../src/firewall/backend.js';
import { KNOCK_HEADER_WORD } from '../src/firewall/constants.js';
import {
  grantRule,
  iptablesChains,
  iptablesSetupScript,
  iptablesTeardownScript,
  isEmptyTable,
  copiesKnocks,
  copyRule as iptablesCopyRule,
  knockRedirectRule,
  ourRules,
  rulesProblem,
  savedOwner,
  isNftVariant,
  knockU32,
  mainChainRules,
  parseIptablesSave,
  withoutOurs,
} from '../src/firewall/iptables-rules.js';
import {
  copyFamilies,
  copyPortRule,
  copyRule,
  inputChainRules,
  knockShapeMatch,
  nftBatchScript,
  ownTables,
  nftSetupScript,
  nftTeardownScript,
  parseTableListing,
  tableBlock,
} from '../src/firewall/nftables-script.js';

const SETUP: FirewallSetup = {
  policy: 'reject',
  emergencyAccessPorts: [
    { protocol: 'tcp', port: 22 },
    { protocol: 'tcp', port: 2222 },
    { protocol: 'udp', port: 51820 },
    { protocol: 'tcp', port: 22 },
  ],
  knockPort: 62201,
  anyPortKnocks: true,
  minKnockDatagramLength: 700,
};
const G4: Grant = { address: '192.0.2.7', family: 4, protocol: 'tcp', port: 2000 };
const G6: Grant = { address: '2001:db8::7', family: 6, protocol: 'udp', port: 8000 };
const CHAINS = iptablesChains('SKNOCK');

describe('firewall scripts (text only, no root needed)', () => {
  it('the knock-shape word is magic "a" and version 1.0.0', () => {
    assert.equal(KNOCK_HEADER_WORD, 0x61010000);
    assert.equal(knockShapeMatch(700), 'udp length >= 708 @th,64,32 0x61010000');
  });

  it('nft input chain: accept list, grants, then the policy (knocks come in as copies over lo)', () => {
    assert.deepEqual(inputChainRules(SETUP), [
      'ct state established,related accept',
      'iif "lo" accept',
      'meta l4proto { icmp, ipv6-icmp } accept',
      'tcp dport { 22, 2222 } accept',
      'udp dport { 51820 } accept',
      'ip saddr . meta l4proto . th dport @ipv4_grants accept',
      'ip6 saddr . meta l4proto . th dport @ipv6_grants accept',
      'meta l4proto tcp reject with tcp reset',
      'reject with icmpx type port-unreachable',
    ]);
    assert.deepEqual(inputChainRules({ ...SETUP, policy: 'drop' }).slice(-1), ['drop']);
    assert.deepEqual(inputChainRules({ ...SETUP, policy: 'none' }), [
      'ip saddr . meta l4proto . th dport @ipv4_grants accept',
      'ip6 saddr . meta l4proto . th dport @ipv6_grants accept',
    ]);
  });

  it('nft copy rules: which knock-shaped datagrams are copied, by policy, anyPortKnocks and listenAddress; only those addressed to this host', () => {
    const shape = 'udp length >= 708 @th,64,32 0x61010000';
    assert.equal(copyRule(SETUP, 4), `iif != "lo" fib daddr type local ${shape} dup to 127.0.0.1 device "lo"`);
    assert.equal(copyRule(SETUP, 6), `iif != "lo" fib daddr type local ${shape} dup to ::1 device "lo"`);
    assert.equal(copyRule({ ...SETUP, anyPortKnocks: false }, 4), `iif != "lo" fib daddr type local udp dport 62201 ${shape} dup to 127.0.0.1 device "lo"`);
    assert.equal(copyRule({ ...SETUP, policy: 'none' }, 6), `iif != "lo" fib daddr type local udp dport != 62201 ${shape} dup to ::1 device "lo"`);
    assert.equal(copyRule({ ...SETUP, policy: 'none', anyPortKnocks: false }, 4), undefined, 'policy none without anyPortKnocks: the socket gets the originals');
    assert.deepEqual(copyFamilies({ ...SETUP, listenAddress: '0.0.0.0' }), [4]);
    assert.deepEqual(copyFamilies({ ...SETUP, listenAddress: '2001:db8::1' }), [6]);
    assert.equal(copyRule({ ...SETUP, listenAddress: '192.0.2.1' }, 4), `iif != "lo" fib daddr type local ip daddr 192.0.2.1 ${shape} dup to 127.0.0.1 device "lo"`);
    assert.equal(copyRule({ ...SETUP, listenAddress: '192.0.2.1' }, 6), undefined);
    assert.equal(copyPortRule(SETUP), `iif "lo" fib saddr type != local udp dport != 62201 ${shape} udp dport set 62201`);
  });

  it('nft setup: guarded by create or delete-by-handle, owner comment, copy tables replaced, live grants written back', () => {
    const owner = 'sknock-server pid=1 start=2 pidns=3 id=0123456789abcdef port=62201';
    const script = nftSetupScript('sknock', SETUP, owner, { absent: true }, [
      { grant: G4, timeoutMs: 1500 },
      { grant: G6, timeoutMs: 900 },
    ]);
    const lines = script.split('\n');
    assert.deepEqual(lines.slice(0, 3), [`create table inet sknock { comment "${owner}"; }`, 'table inet sknock {', `\tcomment "${owner}"`]);
    assert.match(script, /set ipv4_grants \{ type ipv4_addr \. inet_proto \. inet_service; flags timeout; \}/);
    for (const [family, loopback] of [['ip', '127.0.0.1'], ['ip6', '::1']] as const) {
      assert.ok(script.includes(`table ${family} sknock {}\ndelete table ${family} sknock\ntable ${family} sknock {\n\tchain knock_copy {\n\t\ttype filter hook input priority filter - 2; policy accept;\n`), family);
      assert.ok(script.includes(`dup to ${loopback} device "lo"`), family);
    }
    assert.match(script, /chain knock_port \{\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\tiif "lo" fib saddr type != local udp dport != 62201 .* udp dport set 62201\n/);
    assert.doesNotMatch(script, /redirect|nat/, 'no NAT: copies keep conntrack out of it');
    assert.ok(lines.includes('add element inet sknock ipv4_grants { 192.0.2.7 . tcp . 2000 timeout 1500ms }'));
    assert.ok(lines.includes('add element inet sknock ipv6_grants { 2001:db8::7 . udp . 8000 timeout 900ms }'));
    assert.equal(nftSetupScript('sknock', SETUP, owner, { handle: 42 }).split('\n')[0], 'delete table inet handle 42');
    assert.doesNotMatch(nftSetupScript('sknock', { ...SETUP, anyPortKnocks: false }, owner, { absent: true }), /knock_port/);
    const none = nftSetupScript('sknock', { ...SETUP, policy: 'none', anyPortKnocks: false }, owner, { absent: true });
    assert.doesNotMatch(none, /knock_copy/);
    assert.match(none, /table ip sknock \{\}\ndelete table ip sknock\n/, 'a stale copy table is still removed');
    assert.equal(
      nftTeardownScript('t1', 7),
      'delete table inet handle 7\ntable ip t1 {}\ndelete table ip t1\ntable ip6 t1 {}\ndelete table ip6 t1\n',
    );
    assert.equal(nftTeardownScript('t1', undefined), 'table ip t1 {}\ndelete table ip t1\ntable ip6 t1 {}\ndelete table ip6 t1\n');
  });

  it('nft listing: our tables are cut out of list ruleset, a missing one said so', () => {
    const listing = [
      'table inet admin { # handle 1',
      '\tchain input { # handle 1',
      '\t}',
      '}',
      'table inet t1 { # handle 7',
      '\tcomment "x"',
      '}',
      'table ip t1 { # handle 8',
      '\tchain knock_copy { # handle 1',
      '\t}',
      '}',
      '',
    ].join('\n');
    assert.equal(tableBlock(listing, 'inet', 't1'), 'table inet t1 { # handle 7\n\tcomment "x"\n}\n');
    assert.equal(tableBlock(listing, 'ip6', 't1'), undefined);
    assert.equal(tableBlock(listing, 'inet', 't'), undefined, 'a table whose name starts the same is another table');
    assert.equal(
      ownTables(listing, 't1', SETUP),
      'table inet t1 { # handle 7\n\tcomment "x"\n}\ntable ip t1 { # handle 8\n\tchain knock_copy { # handle 1\n\t}\n}\n(table ip6 t1 is missing)\n',
    );
    assert.equal(ownTables('', 't1', { ...SETUP, policy: 'none', anyPortKnocks: false }), '(table inet t1 is missing)\n', 'no copy tables: only the inet one is ours');
  });

  it('nft listing: the table handle and the owner comment are read back', () => {
    assert.deepEqual(parseTableListing('table inet sknock { # handle 12\n\tcomment "sknock-server pid=1"\n\tset ipv4_grants { # handle 2\n'), {
      handle: 12,
      comment: 'sknock-server pid=1',
    });
    assert.deepEqual(parseTableListing('table inet sknock { # handle 3\n\tset a { # handle 2\n'), { handle: 3, comment: undefined });
    assert.equal(parseTableListing('Error: No such file or directory'), undefined);
  });

  it('nft batch: per set add all, delete all, add the open ones with their timeouts (so a timeout is renewed); closing works when already expired', () => {
    const G4b: Grant = { address: '198.51.100.9', family: 4, protocol: 'udp', port: 53 };
    assert.equal(
      nftBatchScript('sknock', [{ grant: G6, timeoutMs: 15000 }, { grant: G4 }, { grant: G4b, timeoutMs: 900 }]),
      [
        'add element inet sknock ipv4_grants { 192.0.2.7 . tcp . 2000, 198.51.100.9 . udp . 53 }',
        'delete element inet sknock ipv4_grants { 192.0.2.7 . tcp . 2000, 198.51.100.9 . udp . 53 }',
        'add element inet sknock ipv4_grants { 198.51.100.9 . udp . 53 timeout 900ms }',
        'add element inet sknock ipv6_grants { 2001:db8::7 . udp . 8000 }',
        'delete element inet sknock ipv6_grants { 2001:db8::7 . udp . 8000 }',
        'add element inet sknock ipv6_grants { 2001:db8::7 . udp . 8000 timeout 15000ms }',
        '',
      ].join('\n'),
    );
    assert.equal(nftBatchScript('t1', [{ grant: G4 }]), 'add element inet t1 ipv4_grants { 192.0.2.7 . tcp . 2000 }\ndelete element inet t1 ipv4_grants { 192.0.2.7 . tcp . 2000 }\n');
    assert.equal(nftBatchScript('t1', []), '');
  });

  it('iptables u32 matches read the UDP length and the first payload word', () => {
    assert.equal(knockU32(4, 700), '0>>22&0x3C@4>>16=708:65535&&0>>22&0x3C@8=0x61010000');
    assert.equal(knockU32(6, 700), '44>>16=708:65535&&48=0x61010000');
  });

  const OWNER = 'sknock-server pid=1 start=2 pidns=3 id=0123456789abcdef port=62201';
  const OWNER_RULE = `-A SKNOCK -m comment --comment "${OWNER}" -j SKNOCK-GRANTS`;

  it('iptables rules per family and policy; the jump to the grants carries the owner mark', () => {
    const v6 = mainChainRules(6, CHAINS, SETUP, OWNER);
    assert.deepEqual(v6, [
      '-A SKNOCK -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A SKNOCK -i lo -j ACCEPT',
      '-A SKNOCK -p ipv6-icmp -j ACCEPT',
      '-A SKNOCK -p tcp -m tcp --dport 22 -j ACCEPT',
      '-A SKNOCK -p tcp -m tcp --dport 2222 -j ACCEPT',
      '-A SKNOCK -p udp -m udp --dport 51820 -j ACCEPT',
      '-A SKNOCK -p udp -m udp --dport 62201 -m u32 --u32 "44>>16=708:65535&&48=0x61010000" -j ACCEPT',
      OWNER_RULE,
      '-A SKNOCK -p tcp -j REJECT --reject-with tcp-reset',
      '-A SKNOCK -j REJECT --reject-with icmp6-port-unreachable',
    ]);
    assert.equal(mainChainRules(4, CHAINS, SETUP, OWNER).at(-1), '-A SKNOCK -j REJECT --reject-with icmp-port-unreachable');
    assert.deepEqual(mainChainRules(4, CHAINS, { ...SETUP, policy: 'drop' }, OWNER).slice(-2), [OWNER_RULE, '-A SKNOCK -j DROP']);
    assert.deepEqual(mainChainRules(4, CHAINS, { ...SETUP, policy: 'none' }, OWNER), [OWNER_RULE]);
    assert.equal(
      knockRedirectRule(4, CHAINS, SETUP),
      '-A SKNOCK-KNOCK -p udp -m addrtype --dst-type LOCAL -m u32 --u32 "0>>22&0x3C@4>>16=708:65535&&0>>22&0x3C@8=0x61010000" -j REDIRECT --to-ports 62201',
      'only datagrams addressed to this host are redirected, never forwarded ones',
    );
    assert.equal(grantRule(CHAINS, G4, '-A'), '-A SKNOCK-GRANTS -s 192.0.2.7/32 -p tcp -m tcp --dport 2000 -j ACCEPT');
    assert.equal(grantRule(CHAINS, G6, '-D'), '-D SKNOCK-GRANTS -s 2001:db8::7/128 -p udp -m udp --dport 8000 -j ACCEPT');
  });

  const SAVED = [
    '# Generated by iptables-save v1.8.9 (nf_tables) on Tue Nov 24 02:30:48 2026',
    '*filter',
    ':INPUT ACCEPT [10:200]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':SKNOCK - [0:0]',
    ':SKNOCK-GRANTS - [0:0]',
    '-A INPUT -j SKNOCK',
    '-A INPUT -j SKNOCK',
    '-A INPUT -p tcp -m tcp --dport 7 -j ACCEPT',
    `-A SKNOCK -m comment --comment "${OWNER}" -j SKNOCK-GRANTS`,
    'COMMIT',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':SKNOCK-KNOCK - [0:0]',
    '-A PREROUTING -j SKNOCK-KNOCK',
    'COMMIT',
    '',
  ].join('\n');

  it('reads iptables-save output and tells the nf_tables variant', () => {
    const t = parseIptablesSave(SAVED);
    assert.deepEqual([...t.keys()], ['filter', 'nat']);
    assert.equal(t.get('filter')?.chains.get('FORWARD'), 'DROP');
    assert.equal(t.get('filter')?.rules.length, 4);
    assert.equal(isNftVariant(SAVED), true);
    assert.equal(isNftVariant(SAVED.replace('(nf_tables)', '(legacy)')), false);
    assert.equal(isEmptyTable(withoutOurs(t.get('nat'), CHAINS)), true);
    assert.equal(isEmptyTable(withoutOurs(t.get('filter'), CHAINS)), false, 'a rule and a DROP policy are left');
  });

  it('iptables setup is guarded (-N, or -D of the owner rule seen), removes every stale jump and flushes our chains by declaring them', () => {
    const NEW_OWNER = OWNER.replace('pid=1', 'pid=9');
    const script = iptablesSetupScript(4, CHAINS, SETUP, parseIptablesSave(SAVED), [G4, G6], NEW_OWNER);
    const lines = script.split('\n');
    assert.deepEqual(lines.slice(0, 7), [
      '*filter',
      `-D SKNOCK -m comment --comment "${OWNER}" -j SKNOCK-GRANTS`,
      ':SKNOCK - [0:0]',
      ':SKNOCK-GRANTS - [0:0]',
      '-D INPUT -j SKNOCK',
      '-D INPUT -j SKNOCK',
      '-I INPUT 1 -j SKNOCK',
    ]);
    assert.ok(lines.includes(`-A SKNOCK -m comment --comment "${NEW_OWNER}" -j SKNOCK-GRANTS`));
    assert.ok(lines.includes('-A SKNOCK-GRANTS -s 192.0.2.7/32 -p tcp -m tcp --dport 2000 -j ACCEPT'));
    assert.ok(!script.includes('2001:db8::7'), 'IPv6 grants go to ip6tables only');
    assert.ok(lines.includes(knockRedirectRule(4, CHAINS, SETUP)));
    const noRedirect = iptablesSetupScript(4, CHAINS, { ...SETUP, anyPortKnocks: false }, parseIptablesSave(SAVED), [], OWNER);
    assert.match(noRedirect, /\*nat\n:SKNOCK-KNOCK - \[0:0\]\n-D PREROUTING -j SKNOCK-KNOCK\n-X SKNOCK-KNOCK\nCOMMIT/);
    const fresh = iptablesSetupScript(4, CHAINS, { ...SETUP, anyPortKnocks: false }, new Map(), [], OWNER);
    assert.deepEqual(fresh.split('\n').slice(0, 3), ['*filter', '-N SKNOCK', '-N SKNOCK-GRANTS'], 'no chain yet: -N fails if one appears meanwhile');
    assert.doesNotMatch(fresh, /\*nat/, 'the nat table is not touched without anyPortKnocks');
    const unmarked = parseIptablesSave(SAVED.replace(`-A SKNOCK -m comment --comment "${OWNER}" -j SKNOCK-GRANTS`, '-A SKNOCK -j SKNOCK-GRANTS'));
    assert.deepEqual(iptablesSetupScript(4, CHAINS, SETUP, unmarked, [], OWNER).split('\n').slice(0, 2), ['*filter', ':SKNOCK - [0:0]'], 'an older version\'s chain: no guard');
    assert.equal(savedOwner(parseIptablesSave(SAVED).get('filter'), CHAINS), OWNER);
    assert.equal(savedOwner(unmarked.get('filter'), CHAINS), undefined);
  });

  it('iptables copy: without anyPortKnocks under reject/drop, knock-shaped datagrams to the knock port are copied (TEE to loopback) and the original refused', () => {
    const setup = { ...SETUP, anyPortKnocks: false };
    assert.equal(copiesKnocks(setup), true);
    assert.equal(copiesKnocks({ ...setup, policy: 'none' }), false, 'policy none: the socket gets the originals');
    assert.equal(copiesKnocks(SETUP), false, 'anyPortKnocks: redirected and accepted instead');
    assert.equal(
      iptablesCopyRule(4, CHAINS, setup),
      '-A SKNOCK-COPY ! -i lo -p udp -m udp --dport 62201 -m addrtype --dst-type LOCAL -m u32 --u32 "0>>22&0x3C@4>>16=708:65535&&0>>22&0x3C@8=0x61010000" -j TEE --gateway 127.0.0.1',
    );
    assert.match(iptablesCopyRule(6, CHAINS, setup) ?? '', /--gateway ::1$/);
    assert.match(iptablesCopyRule(4, CHAINS, { ...setup, listenAddress: '192.0.2.1' }) ?? '', / -d 192\.0\.2\.1\/32 /);
    assert.equal(iptablesCopyRule(6, CHAINS, { ...setup, listenAddress: '0.0.0.0' }), undefined);
    assert.ok(!mainChainRules(4, CHAINS, setup, OWNER).some((r) => r.includes('--dport 62201')), 'the original is refused like at any closed port');
    const script = iptablesSetupScript(4, CHAINS, setup, new Map(), [], OWNER);
    assert.match(script, /\*mangle\n:SKNOCK-COPY - \[0:0\]\n-I INPUT 1 -j SKNOCK-COPY\n-A SKNOCK-COPY .* -j TEE --gateway 127\.0\.0\.1\nCOMMIT\n$/);
    assert.doesNotMatch(iptablesSetupScript(4, CHAINS, SETUP, new Map(), [], OWNER), /mangle/);
    const stale = parseIptablesSave('*mangle\n:INPUT ACCEPT [0:0]\n:SKNOCK-COPY - [0:0]\n-A INPUT -j SKNOCK-COPY\nCOMMIT\n');
    assert.match(iptablesSetupScript(4, CHAINS, SETUP, stale, [], OWNER), /\*mangle\n:SKNOCK-COPY - \[0:0\]\n-D INPUT -j SKNOCK-COPY\n-X SKNOCK-COPY\nCOMMIT/);
    assert.equal(iptablesTeardownScript(CHAINS, stale), '*mangle\n-D INPUT -j SKNOCK-COPY\n-F SKNOCK-COPY\n-X SKNOCK-COPY\nCOMMIT\n');
  });

  it('iptables check: our rules read back, and each kind of damage named', () => {
    const saved = parseIptablesSave(SAVED.replace('-A INPUT -j SKNOCK\n-A INPUT -j SKNOCK\n', '-A INPUT -j SKNOCK\n'));
    const reference = ourRules(saved, CHAINS);
    assert.deepEqual(reference.main, [`-A SKNOCK -m comment --comment "${OWNER}" -j SKNOCK-GRANTS`]);
    assert.equal(reference.inputJumpFirst, true);
    assert.equal(rulesProblem(reference, reference, [], CHAINS), undefined);
    assert.equal(rulesProblem(ourRules(parseIptablesSave(SAVED), CHAINS), reference, [], CHAINS), 'the jump to SKNOCK is not the first rule of INPUT');
    assert.equal(rulesProblem(reference, reference, [grantRule(CHAINS, G4, '-A')], CHAINS), 'the grant rules in SKNOCK-GRANTS were changed');
    assert.equal(rulesProblem({ ...reference, main: [] }, reference, [], CHAINS), 'the rules of chain SKNOCK were changed');
    assert.equal(rulesProblem({ ...reference, grants: undefined }, reference, [], CHAINS), 'chain SKNOCK or SKNOCK-GRANTS is missing');
    assert.deepEqual(reference.knock, [], 'the nat chain of SAVED, empty');
    assert.equal(rulesProblem({ ...reference, preroutingJumpFirst: false }, reference, [], CHAINS), 'the jump to SKNOCK-KNOCK is not the first rule of PREROUTING');
    const withKnock = { ...reference, knock: ['-A SKNOCK-KNOCK -j REDIRECT'], preroutingJumpFirst: true };
    const noKnock = { ...reference, knock: undefined, preroutingJumpFirst: false };
    assert.equal(rulesProblem({ ...noKnock, knock: ['-A SKNOCK-KNOCK -j X'] }, noKnock, [], CHAINS), undefined, 'no knock chain was set up: not checked');
    assert.equal(rulesProblem({ ...withKnock, knock: undefined }, withKnock, [], CHAINS), 'chain SKNOCK-KNOCK is missing');
    const withCopy = { ...reference, copy: ['-A SKNOCK-COPY -j TEE'], copyJumpFirst: true };
    assert.equal(rulesProblem({ ...withCopy, copyJumpFirst: false }, withCopy, [], CHAINS), 'the jump to SKNOCK-COPY is not the first rule of mangle INPUT');
  });

  it('iptables teardown removes exactly our jumps and chains', () => {
    assert.equal(
      iptablesTeardownScript(CHAINS, parseIptablesSave(SAVED)),
      [
        '*filter',
        '-D INPUT -j SKNOCK',
        '-D INPUT -j SKNOCK',
        '-F SKNOCK',
        '-F SKNOCK-GRANTS',
        '-X SKNOCK',
        '-X SKNOCK-GRANTS',
        'COMMIT',
        '*nat',
        '-D PREROUTING -j SKNOCK-KNOCK',
        '-F SKNOCK-KNOCK',
        '-X SKNOCK-KNOCK',
        'COMMIT',
        '',
      ].join('\n'),
    );
    assert.equal(iptablesTeardownScript(CHAINS, new Map()), '');
  });
});
