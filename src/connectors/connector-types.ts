import type { ConnectorTypeDefinition } from './connector-config-reader.js';
import { AWS_EC2_CONNECTOR_TYPE } from './aws/aws-ec2-connector.js';
import { AWS_IAM_CONNECTOR_TYPE } from './aws/aws-iam-connector.js';
import { EMAIL_CONNECTOR_TYPE } from './email/email-connector-config.js';
import { HTTP_CONNECTOR_TYPE } from './http/http-connector-config.js';
import { JIRA_CONNECTOR_TYPE } from './jira/jira-connector-config.js';
import { MLFLOW_CONNECTOR_TYPE } from './mlflow/mlflow-config.js';
import { OPENC2_CONNECTOR_TYPE } from './openc2/openc2-connector.js';
import { PAGERDUTY_CONNECTOR_TYPE } from './pagerduty/pagerduty-connector-config.js';
import { AI_APPLICATION_CONNECTOR_TYPE } from './presets/ai-application.js';
import { AI_GATEWAY_CONNECTOR_TYPE } from './presets/ai-gateway.js';
import { FEATURE_STORE_CONNECTOR_TYPE } from './presets/feature-store.js';
import { IDENTITY_CONNECTOR_TYPE } from './presets/identity.js';
import { SERVICENOW_CONNECTOR_TYPE } from './servicenow/servicenow-connector-config.js';
import { SLACK_CONNECTOR_TYPE } from './slack/slack-connector-config.js';
import { ABUSEIPDB_CONNECTOR_TYPE } from './threat-intel/abuseipdb-connector.js';
import { STIX_FEED_CONNECTOR_TYPE } from './threat-intel/stix-feed-connector.js';
import { VIRUSTOTAL_CONNECTOR_TYPE } from './threat-intel/virustotal-connector.js';

/**
 * Every connector type `type:` in connectors.yaml can name, besides the
 * built-in `log` and `inventory` instances. A new vendor connector is one
 * folder under src/connectors and one line here.
 */
export const CONNECTOR_TYPES: readonly ConnectorTypeDefinition[] = [
  HTTP_CONNECTOR_TYPE,
  // enrichment
  VIRUSTOTAL_CONNECTOR_TYPE,
  ABUSEIPDB_CONNECTOR_TYPE,
  STIX_FEED_CONNECTOR_TYPE,
  MLFLOW_CONNECTOR_TYPE,
  IDENTITY_CONNECTOR_TYPE,
  // containment and response
  AWS_EC2_CONNECTOR_TYPE,
  AWS_IAM_CONNECTOR_TYPE,
  OPENC2_CONNECTOR_TYPE,
  AI_GATEWAY_CONNECTOR_TYPE,
  FEATURE_STORE_CONNECTOR_TYPE,
  AI_APPLICATION_CONNECTOR_TYPE,
  // handoff
  SLACK_CONNECTOR_TYPE,
  PAGERDUTY_CONNECTOR_TYPE,
  EMAIL_CONNECTOR_TYPE,
  JIRA_CONNECTOR_TYPE,
  SERVICENOW_CONNECTOR_TYPE,
];
