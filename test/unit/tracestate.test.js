import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TraceState, parseTraceState } from '../../dist/src/telemetry/propagation/trace-state.js';
import { prng, mutate as mutateWith } from '../helpers/fuzz.js';

const SPEC_EXAMPLE = 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE';

function members(n, prefix = 'k') {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}=v${i}`);
}

function valid(header) {
  assert.notEqual(parseTraceState(header), undefined, `rejected ${JSON.stringify(header)}`);
}

function invalid(header) {
  assert.equal(parseTraceState(header), undefined, `accepted ${JSON.stringify(header)}`);
}

describe('parseTraceState', () => {
  it('reads the spec example in order', () => {
    const state = parseTraceState(SPEC_EXAMPLE);
    assert.equal(state.get('rojo'), '00f067aa0ba902b7');
    assert.equal(state.get('congo'), 't61rcWkgMzE');
    assert.equal(state.serialize(), SPEC_EXAMPLE);
  });

  it('returns undefined for an absent or empty header', () => {
    assert.equal(parseTraceState(undefined), undefined);
    assert.equal(parseTraceState(''), undefined);
    assert.equal(parseTraceState(' , ,\t'), undefined);
    assert.equal(parseTraceState([]), undefined);
  });

  it('ignores optional whitespace around members and skips empty members', () => {
    const state = parseTraceState(' rojo=1 ,\t,, congo=2\t,');
    assert.equal(state.serialize(), 'rojo=1,congo=2');
  });

  it('joins repeated headers into one list in order', () => {
    assert.equal(parseTraceState(['rojo=1', 'congo=2', '']).serialize(), 'rojo=1,congo=2');
  });

  it('discards a whole list split over repeated headers when one part is invalid', () => {
    invalid(['rojo=1', 'Congo=2']);
  });

  it('accepts 32 members and discards a list of 33', () => {
    valid(members(32).join(','));
    valid(`${members(32).join(',')},,`);
    invalid(members(33).join(','));
  });

  it('discards the whole tracestate when one member is invalid', () => {
    invalid('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,BAD=1');
    invalid('rojo=00f067aa0ba902b7,congo');
    invalid('rojo=00f067aa0ba902b7,=x');
  });

  it('discards a list with a duplicated key', () => {
    invalid('rojo=1,congo=2,rojo=3');
  });

  it('accepts simple keys of 1 to 256 characters made of the allowed characters', () => {
    valid('a=1');
    valid('a0_-*/z=1');
    valid(`${'a'.repeat(256)}=1`);
    invalid(`${'a'.repeat(257)}=1`);
  });

  it('rejects simple keys that start with a digit, use upper case or other characters', () => {
    invalid('1a=1');
    invalid('Rojo=1');
    invalid('ro.jo=1');
    invalid('ro jo=1');
    invalid('_a=1');
  });

  it('accepts multi-tenant keys within the spec lengths', () => {
    valid('tenant@system=1');
    valid('1tenant@sys=1');
    valid(`${'t'.repeat(241)}@${'s'.repeat(14)}=1`);
  });

  it('rejects multi-tenant keys that break the tenant or system rules', () => {
    invalid(`${'t'.repeat(242)}@s=1`);
    invalid(`t@${'s'.repeat(15)}=1`);
    invalid('t@1sys=1');
    invalid('@sys=1');
    invalid('t@=1');
    invalid('t@s@x=1');
    invalid('_t@sys=1');
  });

  it('accepts values of 1 to 256 printable characters with inner spaces', () => {
    valid('a=x');
    valid('a=some value with spaces');
    valid('a=!"#$%&\'()*+-./:;<>?@[\\]^_`{|}~');
    valid(`a=${'v'.repeat(256)}`);
    invalid(`a=${'v'.repeat(257)}`);
  });

  it('rejects empty values and values containing equals, tabs, CR, LF or non-ASCII', () => {
    invalid('a=');
    invalid('a= ');
    invalid('a=b=c');
    invalid('a=b\tc');
    invalid('a=b\r\nx-evil: 1');
    invalid('a=b\nc');
    invalid('a=caf\u00e9');
    invalid('a=\u0000');
    invalid('a=b\u007f');
  });

  it('treats a space before the value as part of the value', () => {
    assert.equal(parseTraceState('a= x').get('a'), ' x');
  });

  it('re-serialises a valid header unchanged apart from optional whitespace', () => {
    const header = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7,t@s=x y,z=1';
    assert.equal(parseTraceState(header).serialize(), header);
  });

  it('never throws on non-string input', () => {
    invalid(42);
    invalid(null);
    invalid({});
  });
});

describe('TraceState', () => {
  it('starts empty', () => {
    const state = new TraceState();
    assert.equal(state.serialize(), '');
    assert.equal(state.size, 0);
  });

  it('puts a new entry first', () => {
    const state = parseTraceState(SPEC_EXAMPLE).set('new', 'v');
    assert.equal(state.serialize(), `new=v,${SPEC_EXAMPLE}`);
  });

  it('moves an updated entry to the front', () => {
    const state = parseTraceState(SPEC_EXAMPLE).set('congo', 'x');
    assert.equal(state.serialize(), 'congo=x,rojo=00f067aa0ba902b7');
  });

  it('never changes the instance it was called on', () => {
    const before = parseTraceState(SPEC_EXAMPLE);
    before.set('new', 'v');
    before.unset('rojo');
    assert.equal(before.serialize(), SPEC_EXAMPLE);
  });

  it('returns the same instance when set() gets an invalid key or value', () => {
    const state = parseTraceState(SPEC_EXAMPLE);
    assert.equal(state.set('Bad', 'v'), state);
    assert.equal(state.set('ok', 'a,b'), state);
    assert.equal(state.set('ok', 'x\r\ny'), state);
    assert.equal(state.set('ok', ''), state);
    assert.equal(state.set(undefined, 'v'), state);
    assert.equal(state.set('ok', 7), state);
  });

  it('drops the oldest member when a 33rd is set', () => {
    const state = parseTraceState(members(32).join(',')).set('newest', 'v');
    assert.equal(state.size, 32);
    assert.equal(state.get('newest'), 'v');
    assert.equal(state.get('k31'), undefined);
    assert.equal(state.get('k30'), 'v30');
  });

  it('removes a key with unset() and returns the same instance for a missing key', () => {
    const state = parseTraceState(SPEC_EXAMPLE);
    assert.equal(state.unset('rojo').serialize(), 'congo=t61rcWkgMzE');
    assert.equal(state.unset('missing'), state);
  });
});

const ALPHABET = ['a', 'Z', '0', '@', '=', ',', ' ', '\t', '\r', '\n', '\0', '~', '\x7f', 'é', '*', '/', '_', '-', ';'];

const mutate = (input, random) => mutateWith(input, random, ALPHABET);

const STRICT_MEMBER =
  /^(?:[a-z][a-z0-9_*/-]{0,255}|[a-z0-9][a-z0-9_*/-]{0,240}@[a-z][a-z0-9_*/-]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

describe('tracestate fuzzing', () => {
  it('never throws and serialises anything it accepts to the strict grammar, round-trip stable', () => {
    const random = prng(0x5eed);
    const seeds = [SPEC_EXAMPLE, 't@sys=a b,c=d, e=f', members(31).join(',')];
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const header = mutate(seeds[i % seeds.length], random);
      const state = parseTraceState(header);
      if (state === undefined) continue;
      accepted++;
      const out = state.serialize();
      for (const member of out.split(',')) assert.match(member, STRICT_MEMBER, JSON.stringify(header));
      assert.equal(parseTraceState(out).serialize(), out);
      // set() must keep the same guarantee whatever it is given.
      const next = state.set(mutate('key', random), mutate('value', random));
      for (const member of next.serialize().split(',')) assert.match(member, STRICT_MEMBER);
    }
    assert.ok(accepted > 1000, `only ${accepted} accepted`);
  });
});
