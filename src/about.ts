/**
 * `--about`: what the tap is and which settings it takes, in the Meltano SDK's three formats
 * (singer_sdk/about.py). Built from package.json and schemas/config.json only; it never reads a
 * config, so no secret value can reach it, and it prints no secret's default either.
 */
import type { JsonValue } from './json.js';
import { configSchema, envVarName, settingNames, typesOf, type ConfigSchema } from './config/spec.js';
import { packageManifest } from './paths.js';

export const TAP_NAME = 'tap-wemasy';

export const CAPABILITIES: readonly string[] = Object.freeze(['catalog', 'discover', 'state', 'about', 'test']);

export type AboutFormat = 'text' | 'json' | 'markdown';

export const ABOUT_FORMATS: readonly AboutFormat[] = Object.freeze(['text', 'json', 'markdown']);

export interface AboutInfo {
  readonly name: string;
  readonly description: string;
  readonly version: string;
  readonly sdk_version: string;
  readonly supported_python_versions: null;
  readonly capabilities: readonly string[];
  /** The full settings JSON Schema (schemas/config.json). */
  readonly settings: ConfigSchema;
}

export function aboutInfo(): AboutInfo {
  const { version, description } = packageManifest();
  return {
    name: TAP_NAME,
    description,
    version,
    sdk_version: `${TAP_NAME}-ts/${version}`,
    supported_python_versions: null,
    capabilities: CAPABILITIES,
    settings: configSchema(),
  };
}

function typeText(schema: ConfigSchema, name: string): string {
  const setting = schema.properties[name];
  return setting === undefined ? 'unknown' : typesOf(setting).join(', ');
}

function isRequired(schema: ConfigSchema, name: string): boolean {
  return schema.required.includes(name);
}

/** A default as the markdown table shows it; `None` when there is none or the setting is secret. */
function defaultText(schema: ConfigSchema, name: string): string {
  const setting = schema.properties[name];
  const value: JsonValue | undefined = setting?.default;
  if (setting === undefined || value === undefined || setting.secret === true || setting.writeOnly === true) {
    return 'None';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A description's first sentence, on one line ("e.g." and "i.e." do not end one). */
export function firstSentence(description: string): string {
  const text = description.replace(/\s+/g, ' ').trim();
  const end = /(?<!\be\.g|\bi\.e)\.(?=\s+[A-Z`])/.exec(text);
  return end === null ? text : text.slice(0, end.index + 1);
}

function tableCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, '<BR/>');
}

function renderText(info: AboutInfo): string {
  const lines = [
    `Name: ${info.name}`,
    `Description: ${info.description}`,
    `Version: ${info.version}`,
    `SDK Version: ${info.sdk_version}`,
    'Capabilities:',
    ...info.capabilities.map((capability) => `  - ${capability}`),
    'Settings:',
  ];
  const schema = info.settings;
  for (const name of settingNames(schema)) {
    lines.push(
      `  - Name: ${name}`,
      `    Type: ${typeText(schema, name)}`,
      `    Default: ${isRequired(schema, name) ? '(required)' : defaultText(schema, name)}`,
      `    Environment Variable: ${envVarName(name)}`,
      `    Description: ${firstSentence(schema.properties[name]?.description ?? '')}`,
    );
  }
  return lines.join('\n');
}

function renderMarkdown(info: AboutInfo): string {
  const lines = [
    `# \`${info.name}\``,
    '',
    info.description,
    '',
    'Built with TypeScript on Node.js.',
    '',
    'The same package is also an Airbyte source, over the same streams and bookmarks: `source-wemasy spec | check | discover | read` (README, "With Airbyte").',
    '',
    '## Capabilities',
    '',
    ...info.capabilities.map((capability) => `* \`${capability}\``),
    '',
    '## Settings',
    '',
    '| Setting | Required | Default | Description |',
    '|:---|:---:|:---:|:---|',
  ];
  const schema = info.settings;
  for (const name of settingNames(schema)) {
    const description = schema.properties[name]?.description ?? '';
    const required = isRequired(schema, name) ? 'True' : 'False';
    lines.push(`| ${name} | ${required} | ${tableCell(defaultText(schema, name))} | ${tableCell(description)} |`);
  }
  lines.push(
    '',
    `A full list of supported settings and capabilities is available by running: \`${info.name} --about\``,
  );
  return lines.join('\n');
}

/** The `--about` document in `format`, without a final newline (the caller adds it). */
export function renderAbout(format: AboutFormat): string {
  const info = aboutInfo();
  switch (format) {
    case 'json':
      return JSON.stringify(info, null, 2);
    case 'markdown':
      return renderMarkdown(info);
    case 'text':
      return renderText(info);
  }
}
