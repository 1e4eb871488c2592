import assert from "node:assert/strict";
import { cidrContains, type CidrRange, parseCidr, parseIp, parsePortList } from "./cidr.ts";

function range(address: string, length: number): CidrRange {
  const r = parseCidr(address, length);
  if (typeof r === "string") throw new Error(r);
  return r;
}

function inRange(address: string, length: number, ip: string): boolean {
  const parsed = parseIp(ip);
  assert.ok(parsed !== undefined, ip);
  return cidrContains(range(address, length), parsed);
}

Deno.test("parseIp() reads IPv4 and IPv6 as Go's ParseIP, mapped IPv4 as IPv4", () => {
  assert.deepEqual(parseIp("127.0.0.1"), new Uint8Array([127, 0, 0, 1]));
  assert.deepEqual(parseIp("::ffff:10.1.2.3"), new Uint8Array([10, 1, 2, 3]));
  assert.deepEqual(parseIp("0:0:0:0:0:ffff:a01:203"), new Uint8Array([10, 1, 2, 3]));
  assert.deepEqual(parseIp("::1"), new Uint8Array([...new Array(15).fill(0), 1]));
  assert.deepEqual(parseIp("::"), new Uint8Array(16));
  assert.deepEqual(
    parseIp("2001:db8::8:1"),
    new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 1]),
  );
  assert.deepEqual(parseIp("1:2:3:4:5:6:7::")?.slice(12), new Uint8Array([0, 7, 0, 0]));
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.0.0.1",
      "01.2.3.4", // leading zeros: refused since Go 1.17
      "1.2.3.-1",
      "::1::",
      "1:2:3:4:5:6:7:8:9",
      "12345::",
      "fe80::1%eth0",
      "1.2.3.4::",
      "example.com",
    ]
  ) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

Deno.test("parseCidr() takes host bits and checks the length per family", () => {
  assert.ok(inRange("127.0.0.1", 24, "127.0.0.200"), "host bits set, as Go allows");
  assert.ok(!inRange("127.0.0.1", 24, "127.0.1.1"));
  assert.ok(inRange("127.0.0.2", 32, "127.0.0.2"));
  assert.ok(!inRange("127.0.0.2", 32, "127.0.0.1"));
  assert.ok(inRange("0.0.0.0", 0, "203.0.113.9"), "/0 takes every IPv4 address");
  assert.ok(inRange("10.0.0.0", 9, "10.127.255.255"));
  assert.ok(!inRange("10.0.0.0", 9, "10.128.0.0"), "a length that is not a multiple of 8");
  assert.equal(parseCidr("127.0.0.1", 33), "prefix length 33 is out of range for IPv4 (0..32)");
  assert.equal(parseCidr("::1", 129), "prefix length 129 is out of range for IPv6 (0..128)");
  assert.equal(parseCidr("localhost", 8), '"localhost" is not an IP address');
});

Deno.test("cidrContains() matches mapped IPv4 in IPv4 ranges and never mixes families", () => {
  assert.ok(inRange("127.0.0.0", 8, "::ffff:127.1.2.3"), "a dual-stack socket's IPv4 peer");
  assert.ok(!inRange("::", 0, "127.0.0.1"), "an IPv4 peer is not in an IPv6 range");
  assert.ok(inRange("::", 0, "::1"));
  assert.ok(inRange("2001:db8::", 32, "2001:db8:ffff::1"));
  assert.ok(!inRange("2001:db8::", 33, "2001:db8:ffff::1"));
  // An IPv4-mapped range is an IPv4 range of length - 96 (Go compares the mask's last four bytes).
  assert.ok(inRange("::ffff:10.0.0.0", 104, "10.9.9.9"));
  assert.ok(!inRange("::ffff:10.0.0.0", 104, "11.0.0.1"));
  assert.ok(inRange("::ffff:10.0.0.0", 24, "192.0.2.1"), "a mask shorter than the mapping prefix");
});

Deno.test("parsePortList() reads MOSN's comma list of ports and ranges, refusing what cannot match", () => {
  assert.deepEqual(parsePortList("8080"), [{ min: 8080, max: 8080 }]);
  assert.deepEqual(parsePortList("1-1023,8080,9000-9100"), [
    { min: 1, max: 1023 },
    { min: 8080, max: 8080 },
    { min: 9000, max: 9100 },
  ]);
  assert.deepEqual(parsePortList(""), []);
  assert.equal(parsePortList("80, 81"), '" 81" is not a port or a range like "8000-8080"');
  assert.equal(parsePortList("http"), '"http" is not a port or a range like "8000-8080"');
  assert.equal(parsePortList("0-80"), "port 0 is out of range (1..65535)");
  assert.equal(parsePortList("65536"), "port 65536 is out of range (1..65535)");
  assert.equal(parsePortList("90-80"), 'range "90-80" is empty (90 > 80)');
  assert.equal(parsePortList("80,"), '"" is not a port or a range like "8000-8080"');
});
