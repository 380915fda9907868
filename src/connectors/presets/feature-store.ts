import type { ConnectorTypeDefinition } from '../connector-config-reader.js';
import { presetConnectorType, type PresetDefinition } from './preset-connector.js';
import {
  BOOLEAN,
  CASE_NUMBER,
  ID,
  REASON,
  SHA256,
  STRING,
  STRINGS,
  objectSchema,
} from './preset-schemas.js';

/**
 * `type: feature_store`: the company's feature store / dataset service.
 * Quarantining keeps a copy of the dataset as it was and returns its
 * reference and hash, which Warden keeps as evidence on the case. The API
 * contract is in docs/connectors/presets.md.
 */

const DATASET = objectSchema({ dataset: ID }, ['dataset']);

const FEATURE_STORE: PresetDefinition = {
  type: 'feature_store',
  actions: [
    {
      name: 'quarantine_dataset',
      description:
        'Stops readers and writers of a dataset and keeps a copy as evidence; returns the copy reference and its SHA-256.',
      method: 'POST',
      effect: 'write',
      path: '/datasets/{dataset}/quarantine',
      body: { sha256: 'sha256', reason: 'reason', case: 'case' },
      inputSchema: objectSchema(
        {
          dataset: ID,
          // As alerts write it: bare hex, or `sha256:`-prefixed.
          sha256: { type: 'string', pattern: '^(sha256:)?[A-Fa-f0-9]{64}$' },
          reason: REASON,
          case: CASE_NUMBER,
        },
        // The alert may carry no hash: the store still quarantines and hashes its copy.
        ['dataset', 'reason'],
      ),
      output: {
        dataset: 'dataset',
        quarantined: 'quarantined',
        sha256: 'sha256',
        copy_ref: 'copy_ref',
        size_bytes: 'size_bytes',
      },
      outputSchema: objectSchema(
        {
          dataset: STRING,
          quarantined: BOOLEAN,
          sha256: SHA256,
          copy_ref: { type: 'string', minLength: 1 },
          size_bytes: { type: 'integer', minimum: 0 },
        },
        ['dataset', 'quarantined', 'sha256', 'copy_ref', 'size_bytes'],
      ),
    },
    {
      name: 'release_dataset',
      description: 'Lifts the quarantine of a dataset (the evidence copy is kept).',
      method: 'POST',
      effect: 'write',
      path: '/datasets/{dataset}/release',
      inputSchema: DATASET,
      output: { dataset: 'dataset', quarantined: 'quarantined' },
      outputSchema: objectSchema({ dataset: STRING, quarantined: BOOLEAN }, [
        'dataset',
        'quarantined',
      ]),
    },
    {
      name: 'get_dataset',
      description:
        'Reads who owns a dataset, its current SHA-256, the identities that write it and the consumers that read it.',
      method: 'GET',
      effect: 'read',
      path: '/datasets/{dataset}',
      inputSchema: DATASET,
      output: {
        dataset: 'dataset',
        owner: 'owner',
        sha256: 'sha256',
        writers: 'writers',
        consumers: 'consumers',
        quarantined: 'quarantined?',
      },
      outputSchema: objectSchema(
        {
          dataset: STRING,
          owner: STRING,
          sha256: SHA256,
          writers: STRINGS,
          consumers: STRINGS,
          quarantined: BOOLEAN,
        },
        ['dataset', 'owner', 'sha256', 'writers', 'consumers'],
      ),
    },
  ],
};

export const FEATURE_STORE_CONNECTOR_TYPE: ConnectorTypeDefinition =
  presetConnectorType(FEATURE_STORE);
