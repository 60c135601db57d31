import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomSource } from '../../dist/src/telemetry/random.js';

/** Whether every byte value appears about as often as chance says (n / 256, within ±40 %: over 6 standard deviations for 64 KiB). */
function looksUniform(bytes) {
  const counts = new Uint32Array(256);
  for (const b of bytes) counts[b]++;
  const expected = bytes.length / 256;
  return counts.every((c) => c > expected * 0.6 && c < expected * 1.4);
}

/** Two 64 KiB fills from `device`: each looks uniform, and they differ. */
function assertRandomFills(device) {
  const fill = randomSource(device);
  const a = new Uint8Array(65536);
  const b = new Uint8Array(65536);
  fill(a);
  fill(b);
  assert.ok(looksUniform(a));
  assert.ok(looksUniform(b));
  assert.notDeepEqual(a, b);
}

describe('random bytes for ids', () => {
  it("reads the kernel's generator: every byte value about equally often, a new run each fill", () => {
    assertRandomFills('/dev/urandom');
  });

  for (const [device, why] of [
    ['/nonexistent/urandom', 'cannot be opened'],
    [process.execPath, 'is not a character device (a file longer than the fill)'],
    ['/dev/null', 'ends at once'],
    ['/dev/zero', 'gives zeros (ids drawn again until non-zero would loop forever)'],
  ]) {
    it(`uses node:crypto instead where the device ${why}`, () => {
      assertRandomFills(device);
    });
  }
});
