// Configuration: defaults, overrides, one clear error per bad value, docs in step with the schema, and
// the real server refusing to start on a bad value.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configDocs, loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { spawnServer, stopChild } from './helpers/child-server.js';

const readRepoFile = (name: string) => readFileSync(new URL(`../${name}`, import.meta.url), 'utf8');

describe('loadConfig', () => {
  test('an empty environment gives the documented defaults', () => {
    const config = loadConfig({});
    assert.equal(config.HOST, '127.0.0.1');
    assert.equal(config.PORT, 8080);
    assert.equal(config.LOG_LEVEL, 'info');
    assert.equal(config.HEARTBEAT_INTERVAL_MS, 30_000);
    assert.equal(config.MAX_PAYLOAD_BYTES, 4 * 1024 * 1024);
    assert.equal(config.SHUTDOWN_GRACE_MS, 10_000);
    for (const { name, default: value } of configDocs()) {
      assert.deepEqual((config as Record<string, unknown>)[name], value, name);
    }
  });

  test('environment values are parsed and override the defaults; empty strings count as unset', () => {
    const config = loadConfig({ HOST: '0.0.0.0', PORT: ' 9000 ', LOG_LEVEL: 'debug', HEARTBEAT_INTERVAL_MS: '50', SHUTDOWN_GRACE_MS: '', UNRELATED: 'x' });
    assert.equal(config.HOST, '0.0.0.0');
    assert.equal(config.PORT, 9000);
    assert.equal(config.LOG_LEVEL, 'debug');
    assert.equal(config.HEARTBEAT_INTERVAL_MS, 50);
    assert.equal(config.SHUTDOWN_GRACE_MS, 10_000);
    assert.equal('UNRELATED' in config, false);
  });

  test('programmatic overrides win over the environment', () => {
    const config = loadConfig({ PORT: '9000' }, { PORT: 0, MAX_PAYLOAD_BYTES: 65536 });
    assert.equal(config.PORT, 0);
    assert.equal(config.MAX_PAYLOAD_BYTES, 65536);
  });

  const badValues: Array<[env: Record<string, string>, variable: string]> = [
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '-1' }, 'PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ HEARTBEAT_INTERVAL_MS: '1.5' }, 'HEARTBEAT_INTERVAL_MS'],
    [{ MAX_PAYLOAD_BYTES: '1e6' }, 'MAX_PAYLOAD_BYTES'],
    [{ SHUTDOWN_GRACE_MS: '10s' }, 'SHUTDOWN_GRACE_MS'],
    [{ MAX_SESSIONS: '0' }, 'MAX_SESSIONS'],
  ];
  for (const [env, variable] of badValues) {
    test(`${JSON.stringify(env)} throws a ConfigError naming ${variable}`, () => {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, `not a ConfigError: ${err}`);
          assert.match(err.message, new RegExp(`\\b${variable}\\b`));
          assert.ok(err.message.includes(JSON.stringify(Object.values(env)[0])), `message does not show the bad value: ${err.message}`);
          assert.equal(err.message.includes('\n'), false, 'one line');
          return true;
        },
      );
    });
  }

  test('an unknown LOG_LEVEL lists the accepted levels', () => {
    assert.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL must be one of: fatal, error, warn, info, debug, trace, silent/);
  });

  test('a bad programmatic override names its setting too', () => {
    assert.throws(() => loadConfig({}, { PORT: 70000 }), (err: unknown) => err instanceof ConfigError && /\bPORT\b/.test(err.message));
  });
});

describe('configuration docs stay in step with the schema', () => {
  const docs = configDocs();

  test('configDocs lists every setting with a description', () => {
    assert.ok(docs.length >= 7);
    for (const d of docs) assert.ok(d.description.length > 0, `${d.name} has no description`);
  });

  test('every setting appears in .env.example as NAME=', () => {
    const example = readRepoFile('.env.example');
    const missing = docs.filter((d) => !new RegExp(`^${d.name}=`, 'm').test(example)).map((d) => d.name);
    assert.deepEqual(missing, []);
  });

  test('every setting appears in the README as `NAME`', () => {
    const readme = readRepoFile('README.md');
    const missing = docs.filter((d) => !readme.includes(`\`${d.name}\``)).map((d) => d.name);
    assert.deepEqual(missing, []);
  });

  test('.env.example shows each default value', () => {
    const example = readRepoFile('.env.example');
    const wrong = docs
      .filter((d) => d.default !== undefined && new RegExp(`^${d.name}=`, 'm').test(example)) // missing ones fail above
      .filter((d) => !new RegExp(`^${d.name}=${String(d.default).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm').test(example))
      .map((d) => d.name);
    assert.deepEqual(wrong, []);
  });
});

describe('the standalone server with a bad setting', () => {
  test('PORT=abc exits with code 1 and one stderr line naming PORT', async (t) => {
    const server = spawnServer({ PORT: 'abc' });
    t.after(() => stopChild(server));
    const exit = await server.exited;
    const { stdout, stderr } = server.output();
    assert.deepEqual(exit, { code: 1, signal: null });
    const lines = stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `stderr: ${stderr}`);
    assert.match(lines[0]!, /\bPORT\b/);
    assert.match(lines[0]!, /"abc"/);
    assert.equal(stdout, '', 'nothing on stdout: the server never listened');
  });
});
