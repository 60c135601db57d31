// Random bytes for ids, from the kernel's generator through /dev/urandom where it can be read
// (Linux, macOS, the BSDs). node:crypto's randomFillSync draws from the same kernel source through
// OpenSSL, but loading node:crypto costs ~7 ms of start-up on Node 24 (it loads its key, webcrypto
// and argon2 modules); an app that never uses crypto should not pay that for periscope. The read
// costs more a byte (~2.5 ns against ~0.3 on this machine: ~60 ns a root span's 24 bytes, one
// 64 KiB read every ~2,700 root spans). Where /dev/urandom cannot be opened (Windows, a permission
// model that denies it, a chroot without /dev) or is not what it should be (not a character
// device, at its end, or all zeros, which would make the ids' "never all-zero" draws loop
// forever), node:crypto is loaded on that first fill and used from then on.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crypto } from '../builtins.js';

/** Fills `bytes` with random bytes. */
export type RandomFill = (bytes: Uint8Array) => void;

/** A RandomFill reading `device`, falling back for good to node:crypto the first time it cannot. */
export function randomSource(device: string): RandomFill {
  let kernel = true;
  return (bytes) => {
    if (kernel) {
      try {
        readDevice(device, bytes);
        return;
      } catch {
        kernel = false;
      }
    }
    crypto().randomFillSync(bytes);
  };
}

// 64 zero bytes from a working generator have a chance of 2^-512.
const CHECKED = 64;

function readDevice(device: string, bytes: Uint8Array): void {
  const fd = openSync(device, 'r');
  try {
    if (!fstatSync(fd).isCharacterDevice()) throw new Error(`${device} is not a character device`);
    // Large reads may return early (a signal); at its end (0 bytes) the device is no generator.
    for (let at = 0; at < bytes.length; ) {
      const n = readSync(fd, bytes, at, bytes.length - at, null);
      if (n <= 0) throw new Error(`${device} ended`);
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  let any = 0;
  for (let i = 0; i < CHECKED && i < bytes.length; i++) any |= bytes[i]!;
  if (any === 0) throw new Error(`${device} gave zeros`);
}

export const fillRandom: RandomFill = randomSource('/dev/urandom');
