import { createHash } from 'node:crypto';
import type { FakeReply, FakeRequest, RecordAction, VendorFakeFactory } from '../vendor-fake.js';

/**
 * A stand-in MLflow tracking server for the demo: the Model Registry REST
 * API 2.0 endpoints the `mlflow` connector calls, with MLflow's request and
 * response shapes and error bodies, under `/mlflow` (so the connector's
 * base_url is `http://127.0.0.1:8089/mlflow`). It remembers aliases and
 * tags and records every alias move and tag so the demo shows them.
 *
 * Seeded with the registered models of examples/demo/inventory.yaml (the
 * models' `registry_name`s), each with versions 1–3: version 3 is the
 * `champion`; every version carries an `artifact_sha256` tag, and the
 * artifact actually deployed for version 3 (MLFLOW_DEMO_DEPLOYED_SHA256)
 * differs from its tag, so `verify_hash` reports a mismatch and `rollback`
 * moves the champion back to version 2.
 */

export const MLFLOW_FAKE_PREFIX = '/mlflow';

/** The registry names in examples/demo/inventory.yaml, with what each model does. */
export const MLFLOW_DEMO_MODELS: Readonly<Record<string, string>> = {
  'fraud-detection': 'Scores every card authorisation in real time.',
  'customer-churn': 'Flags customers likely to leave so retention offers can be made.',
  'credit-risk': 'Scores loan and credit-limit applications.',
  'support-chatbot': 'Public-facing chatbot answering account and product questions.',
};

/** The SHA-256 the demo registry holds for a version's artifact. */
export function demoArtifactSha256(model: string, version: string): string {
  return sha256(`${model}/versions/${version}/model.pkl`);
}

/**
 * What is really serving as each model's champion (version 3): not the
 * artifact registered, so a model-integrity alert carrying this hash
 * shows a tampered deployment.
 */
export const MLFLOW_DEMO_DEPLOYED_SHA256: Readonly<Record<string, string>> = Object.fromEntries(
  Object.keys(MLFLOW_DEMO_MODELS).map((model) => [
    model,
    sha256(`${model}/versions/3/model.pkl (tampered)`),
  ]),
);

export const createMlflowFake: VendorFakeFactory = (record) => new MlflowFake(record);

interface FakeVersion {
  readonly name: string;
  readonly version: string;
  readonly creationTimestamp: number;
  lastUpdatedTimestamp: number;
  readonly userId: string;
  readonly description: string;
  readonly source: string;
  readonly runId: string;
  readonly tags: Map<string, string>;
}

interface FakeModel {
  readonly name: string;
  readonly creationTimestamp: number;
  lastUpdatedTimestamp: number;
  readonly description: string;
  readonly tags: Map<string, string>;
  /** alias → version */
  readonly aliases: Map<string, string>;
  readonly versions: Map<string, FakeVersion>;
}

const API = `${MLFLOW_FAKE_PREFIX}/api/2.0/mlflow/`;
const DAY = 86_400_000;

class MlflowFake {
  readonly prefix = MLFLOW_FAKE_PREFIX;
  readonly description = 'MLflow Model Registry (REST API 2.0): models, versions, aliases, tags';
  private readonly models = new Map<string, FakeModel>();

  constructor(private readonly record: RecordAction) {
    const now = Date.now();
    for (const [name, description] of Object.entries(MLFLOW_DEMO_MODELS)) {
      const model: FakeModel = {
        name,
        creationTimestamp: now - 90 * DAY,
        lastUpdatedTimestamp: now - DAY,
        description,
        tags: new Map([['owner', 'ml-platform']]),
        aliases: new Map([['champion', '3']]),
        versions: new Map(),
      };
      for (const version of ['1', '2', '3']) {
        const created = now - (90 - 30 * (Number(version) - 1)) * DAY;
        const runId = sha256(`${name}-run-${version}`).slice(0, 32);
        model.versions.set(version, {
          name,
          version,
          creationTimestamp: created,
          lastUpdatedTimestamp: created,
          userId: 'ml-platform',
          description: `Training run ${runId.slice(0, 8)}`,
          source: `s3://mlflow-artifacts/7/${runId}/artifacts/model`,
          runId,
          tags: new Map([['artifact_sha256', demoArtifactSha256(name, version)]]),
        });
      }
      this.models.set(name, model);
    }
  }

  handle(request: FakeRequest): FakeReply | undefined {
    if (request.path !== MLFLOW_FAKE_PREFIX && !request.path.startsWith(`${MLFLOW_FAKE_PREFIX}/`)) {
      return undefined;
    }
    if (!request.path.startsWith(API)) {
      return notFoundEndpoint(request);
    }
    let body: Record<string, unknown> = {};
    if (request.text.trim() !== '') {
      try {
        const parsed = JSON.parse(request.text) as unknown;
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          throw new Error();
        body = parsed as Record<string, unknown>;
      } catch {
        return error(400, 'MALFORMED_REQUEST', 'Request body is not a JSON object');
      }
    }
    // MLflow reads GET parameters from the query and POST/DELETE parameters from the body.
    const param = (key: string): string | undefined => {
      const value = request.method === 'GET' ? request.query.get(key) : body[key];
      return typeof value === 'string'
        ? value
        : typeof value === 'number'
          ? String(value)
          : undefined;
    };
    try {
      return this.route(request, param);
    } catch (thrown) {
      if (thrown instanceof FakeError) return thrown.reply;
      throw thrown;
    }
  }

  private route(request: FakeRequest, param: (key: string) => string | undefined): FakeReply {
    const endpoint = `${request.method} ${request.path.slice(API.length)}`;
    switch (endpoint) {
      case 'GET registered-models/get': {
        const model = this.model(required(param, 'name'));
        return ok({ registered_model: this.modelJson(model) });
      }
      case 'GET model-versions/get': {
        const model = this.model(required(param, 'name'));
        return ok({ model_version: this.versionJson(model, this.version(model, param)) });
      }
      case 'GET registered-models/alias': {
        const model = this.model(required(param, 'name'));
        const alias = required(param, 'alias');
        const version = model.aliases.get(alias);
        if (version === undefined) {
          // What MLflow's own stores answer for an alias that is not set.
          fail(400, 'INVALID_PARAMETER_VALUE', `Registered model alias ${alias} not found.`);
        }
        const found = model.versions.get(version) as FakeVersion;
        return ok({ model_version: this.versionJson(model, found) });
      }
      case 'POST registered-models/alias': {
        const model = this.model(required(param, 'name'));
        const alias = validAlias(required(param, 'alias'));
        const version = this.version(model, param);
        const previous = model.aliases.get(alias);
        model.aliases.set(alias, version.version);
        model.lastUpdatedTimestamp = Date.now();
        if (previous !== version.version) {
          this.record('mlflow', 'moved alias', `${model.name}@${alias}`, {
            from: previous ?? null,
            to: version.version,
          });
        }
        return ok({});
      }
      case 'DELETE registered-models/alias': {
        const model = this.model(required(param, 'name'));
        const alias = required(param, 'alias');
        const previous = model.aliases.get(alias);
        if (model.aliases.delete(alias)) {
          this.record('mlflow', 'deleted alias', `${model.name}@${alias}`, { from: previous });
        }
        return ok({});
      }
      case 'GET model-versions/search':
        return this.search(request.query);
      case 'POST model-versions/set-tag': {
        const model = this.model(required(param, 'name'));
        const version = this.version(model, param);
        const key = validTagKey(required(param, 'key'));
        const value = param('value') ?? '';
        if (value.length > 5000) fail(400, 'INVALID_PARAMETER_VALUE', `Tag value exceeds 5000`);
        version.tags.set(key, value);
        version.lastUpdatedTimestamp = Date.now();
        this.record('mlflow', 'tagged version', `${model.name} v${version.version}`, {
          key,
          value,
        });
        return ok({});
      }
      case 'DELETE model-versions/delete-tag': {
        const model = this.model(required(param, 'name'));
        const version = this.version(model, param);
        const key = required(param, 'key');
        if (!version.tags.delete(key)) {
          fail(404, 'RESOURCE_DOES_NOT_EXIST', `No tag with name: ${key} in model version`);
        }
        this.record('mlflow', 'untagged version', `${model.name} v${version.version}`, { key });
        return ok({});
      }
      default:
        return notFoundEndpoint(request);
    }
  }

  /** `name='…'` or `name="…"` (or no filter); pages by `max_results` and `page_token`. */
  private search(query: URLSearchParams): FakeReply {
    const filter = (query.get('filter') ?? '').trim();
    let versions = [...this.models.values()].flatMap((model) =>
      [...model.versions.values()].map((version) => ({ model, version })),
    );
    if (filter !== '') {
      const match = /^name\s*=\s*(?:'((?:[^'\\]|\\.)*)'|"([^"]*)")$/.exec(filter);
      if (match === null) {
        fail(400, 'INVALID_PARAMETER_VALUE', `Invalid filter '${filter}'. Use name='<model name>'`);
      }
      const name = match[1] ?? match[2] ?? '';
      versions = versions.filter(({ model }) => model.name === name);
    }
    versions.sort(
      (a, b) =>
        a.model.name.localeCompare(b.model.name) ||
        Number(b.version.version) - Number(a.version.version),
    );
    const maxResults = Number(query.get('max_results') ?? '10000');
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 200_000) {
      fail(400, 'INVALID_PARAMETER_VALUE', `Invalid value for max_results: ${maxResults}`);
    }
    const token = query.get('page_token');
    const offset = token ? Number(Buffer.from(token, 'base64').toString('utf8')) : 0;
    if (!Number.isInteger(offset) || offset < 0) {
      fail(400, 'INVALID_PARAMETER_VALUE', 'Invalid page token');
    }
    const page = versions.slice(offset, offset + maxResults);
    const next = offset + maxResults < versions.length;
    return ok({
      model_versions: page.map(({ model, version }) => this.versionJson(model, version)),
      ...(next
        ? { next_page_token: Buffer.from(String(offset + maxResults)).toString('base64') }
        : {}),
    });
  }

  private model(name: string): FakeModel {
    const model = this.models.get(name);
    if (model === undefined) {
      fail(404, 'RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${name} not found`);
    }
    return model;
  }

  private version(model: FakeModel, param: (key: string) => string | undefined): FakeVersion {
    const version = required(param, 'version');
    if (!/^\d+$/.test(version)) {
      fail(400, 'INVALID_PARAMETER_VALUE', `Model version must be an integer, got '${version}'`);
    }
    const found = model.versions.get(String(Number(version)));
    if (found === undefined) {
      fail(
        404,
        'RESOURCE_DOES_NOT_EXIST',
        `Model Version (name=${model.name}, version=${version}) not found`,
      );
    }
    return found;
  }

  private modelJson(model: FakeModel): unknown {
    const latest = [...model.versions.values()].sort(
      (a, b) => Number(b.version) - Number(a.version),
    )[0];
    return {
      name: model.name,
      creation_timestamp: model.creationTimestamp,
      last_updated_timestamp: model.lastUpdatedTimestamp,
      description: model.description,
      // One per stage; every demo version is in stage "None".
      latest_versions: latest === undefined ? [] : [this.versionJson(model, latest)],
      tags: tagList(model.tags),
      aliases: [...model.aliases].map(([alias, version]) => ({ alias, version })),
    };
  }

  private versionJson(model: FakeModel, version: FakeVersion): unknown {
    return {
      name: model.name,
      version: version.version,
      creation_timestamp: version.creationTimestamp,
      last_updated_timestamp: version.lastUpdatedTimestamp,
      user_id: version.userId,
      current_stage: 'None',
      description: version.description,
      source: version.source,
      run_id: version.runId,
      status: 'READY',
      tags: tagList(version.tags),
      run_link: '',
      aliases: [...model.aliases]
        .filter(([, target]) => target === version.version)
        .map(([alias]) => alias),
    };
  }
}

class FakeError extends Error {
  constructor(readonly reply: FakeReply) {
    super(String((reply.body as { message?: unknown }).message));
  }
}

function fail(status: number, code: string, message: string): never {
  throw new FakeError(error(status, code, message));
}

function error(status: number, code: string, message: string): FakeReply {
  return { status, body: { error_code: code, message } };
}

function ok(body: unknown): FakeReply {
  return { status: 200, body };
}

function notFoundEndpoint(request: FakeRequest): FakeReply {
  return error(404, 'ENDPOINT_NOT_FOUND', `No API endpoint for ${request.method} ${request.path}`);
}

function required(param: (key: string) => string | undefined, key: string): string {
  const value = param(key);
  if (value === undefined || value === '') {
    fail(400, 'INVALID_PARAMETER_VALUE', `Missing value for required parameter '${key}'.`);
  }
  return value;
}

function validAlias(alias: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/.test(alias) || alias.toLowerCase() === 'latest') {
    fail(400, 'INVALID_PARAMETER_VALUE', `Invalid alias name: '${alias}'`);
  }
  return alias;
}

function validTagKey(key: string): string {
  if (!/^[A-Za-z0-9_./ -]{1,250}$/.test(key)) {
    fail(400, 'INVALID_PARAMETER_VALUE', `Invalid tag name: '${key}'`);
  }
  return key;
}

function tagList(tags: Map<string, string>): { key: string; value: string }[] {
  return [...tags].map(([key, value]) => ({ key, value }));
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
