import { deepStrictEqual as assertEquals, equal } from "node:assert/strict";
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import { parseJsonDocument } from "./_json_document.ts";

/** Every node's value kind and start offset, depth first: what the walker reads from the tree. */
function shape(node: unknown, lines: LineCounter, out: string[] = []): string[] {
  if (isMap(node)) {
    out.push(`map@${JSON.stringify(lines.linePos(node.range![0]))}`);
    for (const p of node.items) {
      shape(p.key, lines, out);
      shape(p.value, lines, out);
    }
  } else if (isSeq(node)) {
    out.push(`seq@${JSON.stringify(lines.linePos(node.range![0]))}`);
    for (const item of node.items) shape(item, lines, out);
  } else if (isScalar(node)) {
    out.push(
      `${typeof node.value}:${JSON.stringify(node.value)}@${JSON.stringify(lines.linePos(node.range![0]))}`,
    );
  } else out.push(String(node));
  return out;
}

const SAMPLES = [
  JSON.stringify({
    a: 1,
    b: [true, false, null, -2.5e3, 0],
    c: { d: 'x"y\\\n\u00e9\u{1f600}', e: {} },
    f: [],
  }),
  JSON.stringify({ servers: [{ listeners: [{ name: "l", port: 4294967295 }] }] }, null, 2),
  '{"a": 1, "a": 2, "A": {"x": [ 1 , 2 ]}}',
  '  [ {"k":"\\u0041\\t"} ]  ',
  "{}",
];

Deno.test("parseJsonDocument builds the YAML parser's tree for JSON: same values, kinds and positions", () => {
  for (const text of SAMPLES) {
    const fastLines = new LineCounter();
    const fast = parseJsonDocument(text, fastLines)!;
    const yamlLines = new LineCounter();
    const slow = parseDocument(text, {
      lineCounter: yamlLines,
      uniqueKeys: false,
      version: "1.2",
      schema: "core",
    });
    assertEquals(shape(fast.contents, fastLines), shape(slow.contents, yamlLines), text);
    assertEquals(fast.toJS(), slow.toJS(), text);
  }
});

Deno.test("parseJsonDocument declines anything but plain JSON, so the YAML parser reports it", () => {
  for (
    const text of [
      '{"a": 1,}',
      "{'a': 1}",
      '{"a": NaN}',
      '{"a": 1} x',
      '{"a": "unterminated',
      '{"a": 01}',
      '{"a"\n: [1 2]}',
    ]
  ) {
    equal(parseJsonDocument(text, new LineCounter()), undefined, text);
  }
});
