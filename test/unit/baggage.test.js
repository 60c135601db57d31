import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, propagation, baggageEntryMetadataFromString } from '@opentelemetry/api';
import { W3CBaggagePropagator } from '../../dist/src/telemetry/propagation/baggage.js';
import { suppressTracing } from '../../dist/src/telemetry/suppress.js';
import { prng, mutate as mutateWith } from '../helpers/fuzz.js';

const propagator = new W3CBaggagePropagator();

function extract(baggage) {
  const bag = propagation.getBaggage(propagator.extract(ROOT_CONTEXT, { baggage }));
  return bag === undefined ? undefined : Object.fromEntries(bag.getAllEntries().map(([k, e]) => [k, e.value]));
}

function entry(header, key) {
  return propagation.getBaggage(propagator.extract(ROOT_CONTEXT, { baggage: header })).getEntry(key);
}

function inject(entries, ctx = ROOT_CONTEXT) {
  const carrier = {};
  propagator.inject(propagation.setBaggage(ctx, propagation.createBaggage(entries)), carrier);
  return carrier.baggage;
}

describe('baggage extraction', () => {
  it('reads the spec example', () => {
    assert.deepEqual(extract('userId=alice,serverNode=DF%2028,isProduction=false'), {
      userId: 'alice',
      serverNode: 'DF 28',
      isProduction: 'false',
    });
  });

  it('returns the very same context when there is no baggage header', () => {
    assert.equal(propagator.extract(ROOT_CONTEXT, {}), ROOT_CONTEXT);
    assert.equal(propagator.extract(ROOT_CONTEXT, { baggage: '' }), ROOT_CONTEXT);
  });

  it('returns the very same context when no member is valid', () => {
    assert.equal(propagator.extract(ROOT_CONTEXT, { baggage: 'no-equals, =x' }), ROOT_CONTEXT);
  });

  it('allows optional whitespace around members, keys and values', () => {
    assert.deepEqual(extract(' a = 1 ,\tb=2\t, ,c =3'), { a: '1', b: '2', c: '3' });
  });

  it('joins repeated headers into one list', () => {
    assert.deepEqual(extract(['a=1', 'b=2']), { a: '1', b: '2' });
  });

  it('percent-decodes values, including UTF-8', () => {
    assert.equal(extract('k=caf%C3%A9%20%E2%9C%93').k, 'café ✓');
  });

  it('skips just the member with a malformed percent sequence', () => {
    assert.deepEqual(extract('a=1,b=%zz,c=%E2%9C,d=100%,e=5'), { a: '1', e: '5' });
  });

  it('skips a member whose key is not a token', () => {
    assert.deepEqual(extract('a=1,b c=2,(x)=3,é=4,ok=5'), { a: '1', ok: '5' });
  });

  it('skips a member whose raw value has characters that must be percent-encoded', () => {
    assert.deepEqual(extract('a=1,b=x y,c="q",d=back\\slash,e=caf\u00e9,f=ok'), { a: '1', f: 'ok' });
  });

  it('accepts an empty value', () => {
    assert.deepEqual(extract('a='), { a: '' });
  });

  it('keeps properties as the entry metadata', () => {
    const e = entry('k=v;prop1=a;flag', 'k');
    assert.equal(e.value, 'v');
    assert.equal(e.metadata.toString(), 'prop1=a;flag');
  });

  it('normalises whitespace in properties', () => {
    assert.equal(entry('k=v ; p = 1 ;flag ', 'k').metadata.toString(), 'p = 1;flag');
  });

  it('skips a member whose properties break the grammar', () => {
    assert.deepEqual(extract('a=1;bad key,b=2;p=x y,c=3;ok'), { c: '3' });
  });

  it('keeps the last value of a repeated key', () => {
    assert.deepEqual(extract('a=1,a=2'), { a: '2' });
  });

  it('treats __proto__ as an ordinary key', () => {
    const bag = propagation.getBaggage(propagator.extract(ROOT_CONTEXT, { baggage: '__proto__=x,constructor=y' }));
    assert.equal(bag.getEntry('__proto__').value, 'x');
    assert.equal(bag.getEntry('constructor').value, 'y');
    assert.equal(bag.getAllEntries().length, 2);
  });

  it('stops after 64 members', () => {
    const header = Array.from({ length: 70 }, (_, i) => `k${i}=${i}`).join(',');
    const got = extract(header);
    assert.equal(Object.keys(got).length, 64);
    assert.equal(got.k63, '63');
    assert.equal(got.k64, undefined);
  });

  it('never throws, even when the getter does', () => {
    const getter = { get() { throw new Error('boom'); }, keys: () => [] };
    assert.equal(propagator.extract(ROOT_CONTEXT, {}, getter), ROOT_CONTEXT);
    assert.equal(propagator.extract(ROOT_CONTEXT, null), ROOT_CONTEXT);
    assert.equal(propagator.extract(ROOT_CONTEXT, { baggage: 42 }), ROOT_CONTEXT);
  });
});

describe('baggage injection', () => {
  it('writes entries in order and percent-encodes values', () => {
    assert.equal(inject({ a: { value: '1' }, b: { value: 'DF 28,é;=' } }), 'a=1,b=DF%2028%2C%C3%A9%3B%3D');
  });

  it('keeps metadata after the value', () => {
    const metadata = baggageEntryMetadataFromString('p=1;flag');
    assert.equal(inject({ k: { value: 'v', metadata } }), 'k=v;p=1;flag');
  });

  it('drops metadata that would break the header but keeps the entry', () => {
    const metadata = baggageEntryMetadataFromString('p=1\r\nx-evil: 1');
    assert.equal(inject({ k: { value: 'v', metadata } }), 'k=v');
  });

  it('skips keys that are not tokens', () => {
    assert.equal(inject({ 'bad key': { value: '1' }, 'x\r\ny': { value: '2' }, ok: { value: '3' } }), 'ok=3');
  });

  it('skips a value that cannot be encoded instead of throwing', () => {
    assert.equal(inject({ a: { value: '\ud800' }, b: { value: 'fine' } }), 'b=fine');
  });

  it('writes at most 64 members', () => {
    const entries = Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`k${i}`, { value: String(i) }]));
    const header = inject(entries);
    assert.equal(header.split(',').length, 64);
    assert.ok(header.endsWith(',k63=63'));
  });

  it('never goes over 8192 bytes and never writes a partial member', () => {
    const big = 'x'.repeat(3000);
    const header = inject({
      a: { value: big },
      b: { value: big },
      c: { value: big },
      d: { value: 'small' },
    });
    assert.ok(header.length <= 8192);
    assert.equal(header, `a=${big},b=${big},d=small`);
  });

  it('counts encoded bytes against the limit', () => {
    // 1,300 characters of text become 7,800 bytes once encoded: one fits, two do not.
    const header = inject({ a: { value: 'é'.repeat(1300) }, b: { value: 'é'.repeat(1300) } });
    assert.equal(header.length, 2 + 7800);
    assert.ok(header.startsWith('a=%C3%A9'));
  });

  it('fills exactly up to the limit', () => {
    const header = inject({ a: { value: 'x'.repeat(8190) } });
    assert.equal(header.length, 8192);
    assert.equal(inject({ a: { value: 'x'.repeat(8191) } }), undefined);
  });

  it('writes nothing without baggage or when tracing is suppressed', () => {
    const carrier = {};
    propagator.inject(ROOT_CONTEXT, carrier);
    assert.deepEqual(carrier, {});
    assert.equal(inject({ a: { value: '1' } }, suppressTracing(ROOT_CONTEXT)), undefined);
  });

  it('never throws, even when the setter does', () => {
    const ctx = propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ a: { value: '1' } }));
    propagator.inject(ctx, {}, { set() { throw new Error('headers already sent'); } });
  });

  it('round-trips values and metadata', () => {
    const entries = { user: { value: 'Ünïcødé, = ; %' }, n: { value: '', metadata: baggageEntryMetadataFromString('p=1') } };
    const header = inject(entries);
    const bag = propagation.getBaggage(propagator.extract(ROOT_CONTEXT, { baggage: header }));
    assert.equal(bag.getEntry('user').value, 'Ünïcødé, = ; %');
    assert.equal(bag.getEntry('n').value, '');
    assert.equal(bag.getEntry('n').metadata.toString(), 'p=1');
  });

  it('lists its one field', () => {
    assert.deepEqual(propagator.fields(), ['baggage']);
  });
});

const ALPHABET = ['a', '=', ',', ';', '%', '%2', '%C3', 'F', ' ', '\t', '\r', '\n', '\0', '"', '\\', 'é', '\ud800', '__proto__'];

const mutate = (input, random) => mutateWith(input, random, ALPHABET);

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const OCTETS = '[\\x21\\x23-\\x2b\\x2d-\\x3a\\x3c-\\x5b\\x5d-\\x7e]*';
const STRICT_MEMBER = new RegExp(`^${TOKEN}=${OCTETS}(?:;${TOKEN}(?:[ \\t]*=[ \\t]*${OCTETS})?)*$`);

describe('baggage fuzzing', () => {
  it('never throws and only ever re-emits members that match the strict grammar', () => {
    const random = prng(0xba66);
    const seeds = ['userId=alice,serverNode=DF%2028,isProduction=false', 'k=caf%C3%A9;p=1;flag,x=y'];
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const baggage = mutate(seeds[i % seeds.length], random);
      const ctx = propagator.extract(ROOT_CONTEXT, { baggage });
      const carrier = {};
      propagator.inject(ctx, carrier);
      if (ctx === ROOT_CONTEXT) continue;
      accepted++;
      for (const member of carrier.baggage.split(',')) assert.match(member, STRICT_MEMBER, JSON.stringify(baggage));
      // What we send, we read back to the same entries.
      const again = propagation.getBaggage(propagator.extract(ROOT_CONTEXT, carrier)).getAllEntries();
      assert.deepEqual(
        again.map(([k, e]) => [k, e.value, e.metadata?.toString()]),
        propagation.getBaggage(ctx).getAllEntries().map(([k, e]) => [k, e.value, e.metadata?.toString()]),
      );
    }
    assert.ok(accepted > 1000, `only ${accepted} accepted`);
  });
});
