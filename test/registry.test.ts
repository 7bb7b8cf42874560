// ToolRegistry: what it accepts, what `tools/list` emits, and how argument validation reports errors.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import Type from 'typebox';
import { ToolRegistry } from '../src/tools/registry.js';
import { defineTool, type ToolDefinition } from '../src/tools/define.js';
import { createBuiltinTools, processBatchTool } from '../src/tools/builtin/index.js';
import { loadConfig } from '../src/config.js';

const tool = (name: string, inputSchema: any = Type.Object({})): ToolDefinition<any> =>
  defineTool({ name, description: `the ${name} tool`, inputSchema, handler: () => 'ok' });

/** Every own key of every object in the value, including symbols and non-enumerable ones. */
function hiddenKeys(value: unknown, path = ''): string[] {
  if (value === null || typeof value !== 'object') return [];
  const found: string[] = [];
  for (const sym of Object.getOwnPropertySymbols(value)) found.push(`${path}[${String(sym)}]`);
  for (const name of Object.getOwnPropertyNames(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, name)!;
    if (!descriptor.enumerable && !(Array.isArray(value) && name === 'length')) found.push(`${path}.${name} (non-enumerable)`);
    found.push(...hiddenKeys((value as Record<string, unknown>)[name], `${path}.${name}`));
  }
  return found;
}

describe('ToolRegistry.register', () => {
  test('rejects names that are empty, too long or use other characters', () => {
    for (const name of ['', 'has space', 'slash/name', 'emoji✓', 'x'.repeat(129)]) {
      assert.throws(() => new ToolRegistry().register(tool(name)), TypeError, JSON.stringify(name));
    }
    const registry = new ToolRegistry();
    for (const name of ['a', 'snake_case', 'kebab-case', 'dotted.name', 'x'.repeat(128)]) registry.register(tool(name));
    assert.equal(registry.size, 5);
  });

  test('rejects a duplicate name', () => {
    const registry = new ToolRegistry().register(tool('twice'));
    assert.throws(() => registry.register(tool('twice')), /already registered/);
    assert.equal(registry.size, 1);
  });

  test('rejects input schemas that are not object schemas', () => {
    for (const schema of [Type.String(), Type.Array(Type.String()), Type.Integer(), {}, undefined]) {
      const definition = { name: 'bad_schema', description: 'd', inputSchema: schema, handler: () => 'ok' } as unknown as ToolDefinition;
      assert.throws(() => new ToolRegistry().register(definition), /inputSchema must be an object schema/, JSON.stringify(schema));
    }
  });

  test('rejects a tool without a handler', () => {
    const noHandler = { name: 'lazy', description: 'no handler', inputSchema: Type.Object({}) } as unknown as ToolDefinition;
    assert.throws(() => new ToolRegistry().register(noHandler), /no handler/);
  });
});

describe('ToolRegistry.list', () => {
  const registry = new ToolRegistry().registerAll(createBuiltinTools(loadConfig({})));

  test('emits plain JSON Schema: nothing hidden, identical to its JSON round trip', () => {
    const list = registry.list();
    assert.deepEqual(hiddenKeys(list), []);
    assert.deepEqual(list, JSON.parse(JSON.stringify(list)));
    const batch = list.find((t) => t.name === 'process_batch')!;
    assert.deepEqual(batch.inputSchema.required, ['count']);
    assert.equal((batch.inputSchema.properties as any).delayMs.default, 0);
    assert.equal(batch.annotations?.readOnlyHint, true);
    assert.equal(batch.title, 'Process a batch');
  });

  test('returns the same array on repeated calls, rebuilt after a registration', () => {
    const local = new ToolRegistry().register(tool('one'));
    const first = local.list();
    assert.equal(local.list(), first);
    local.register(tool('two'));
    const second = local.list();
    assert.notEqual(second, first);
    assert.deepEqual(second.map((t) => t.name), ['one', 'two']);
    assert.equal(local.list(), second);
  });

  test('includes the output schema when a tool declares one', () => {
    const local = new ToolRegistry().register(
      defineTool({ name: 'typed', description: 'd', inputSchema: Type.Object({}), outputSchema: Type.Object({ n: Type.Integer() }), handler: () => 'x' }),
    );
    const entry = local.list()[0]!;
    assert.deepEqual(entry.outputSchema, { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } });
    assert.deepEqual(hiddenKeys(entry), []);
  });
});

describe('RegisteredTool.validate', () => {
  const batch = new ToolRegistry().register(processBatchTool).get('process_batch')!;

  test('accepts valid arguments and fills defaults', () => {
    const checked = batch.validate({ count: 3 });
    assert.deepEqual(checked, { ok: true, value: { count: 3, delayMs: 0 } });
  });

  test('names the failing path', () => {
    const checked = batch.validate({ count: 1.5 });
    assert.equal(checked.ok, false);
    assert.match((checked as { message: string }).message, /^Invalid arguments for tool process_batch: .*\/count must be integer/);
  });

  test('lists the missing required properties', () => {
    const checked = batch.validate({});
    assert.equal(checked.ok, false);
    assert.match((checked as { message: string }).message, /required.*\(count\)/);
    const two = new ToolRegistry()
      .register(tool('pair', Type.Object({ left: Type.String(), right: Type.String() })))
      .get('pair')!
      .validate(undefined);
    assert.equal(two.ok, false);
    assert.match((two as { message: string }).message, /\(left, right\)/);
  });

  test('reports several failing paths', () => {
    const checked = batch.validate({ count: 'ten', delayMs: -1 });
    assert.equal(checked.ok, false);
    const message = (checked as { message: string }).message;
    assert.match(message, /\/count must be integer/);
    assert.match(message, /\/delayMs must be >= 0/);
  });
});

describe('a tool declared with plain JSON Schema 2020-12 (no TypeBox)', () => {
  // $defs with $anchor, $ref, allOf/anyOf, if/then/else, additionalProperties: listed as written and enforced.
  const contact = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    $defs: { address: { $anchor: 'addressDef', type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
    properties: {
      name: { type: 'string' },
      address: { $ref: '#/$defs/address' },
      contactMethod: { type: 'string', enum: ['phone', 'email'] },
      phone: { type: 'string' },
      email: { type: 'string' },
    },
    allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
    if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
    then: { required: ['phone'] },
    else: { required: ['email'] },
    additionalProperties: false,
  };
  const registry = new ToolRegistry().register(tool('contact', contact));
  const registered = registry.get('contact')!;

  test('tools/list gives the schema back keyword for keyword', () => {
    assert.deepEqual(registry.list()[0]!.inputSchema, contact);
  });

  test('every keyword is enforced: $ref into $defs, if/then/else, anyOf, additionalProperties', () => {
    assert.equal(registered.validate({ name: 'Ada', email: 'ada@example.org' }).ok, true);
    assert.equal(registered.validate({ contactMethod: 'phone', phone: '555' }).ok, true);
    const refused: Array<[unknown, RegExp]> = [
      [{ contactMethod: 'phone', email: 'ada@example.org' }, /"then"/],
      [{ email: 'e', extra: 1 }, /additional properties \(extra\)/],
      [{ email: 'e', address: { city: 3 } }, /\/address\/city must be string/],
      [{}, /required properties email/],
    ];
    for (const [args, why] of refused) {
      const checked = registered.validate(args);
      assert.equal(checked.ok, false, JSON.stringify(args));
      assert.match((checked as { message: string }).message, why);
    }
  });
});
