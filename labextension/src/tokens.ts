/**
 * The shapes the nb2pipe server extension sends (the JSON schema of `nb2pipe check
 * --output-format json`), and the command ids of the panel.
 */

export interface IDiagnostic {
  code: string;
  name: string;
  severity: 'error' | 'warning' | 'info';
  message: string;
  path: string;
  cell: { index: number; number: number; id: string | null } | null;
  location: { row: number; column: number };
  end_location: { row: number; column: number };
  help: string | null;
  fix: { message: string; applicability: 'safe' | 'unsafe' } | null;
  url: string;
}

export interface IChecklistItem {
  key: string;
  title: string;
  met: boolean;
  meaning: string;
  clears: string;
  diagnostics: Record<string, number>;
  fixable: number;
  note: string | null;
}

export interface IMaturity {
  path: string;
  /** `notebook` (ready for a pipeline, at most) or `pipeline` (a converted folder). */
  kind?: 'notebook' | 'pipeline';
  level: number;
  /** Every item met: a notebook is then ready for level 1 (and still at level 0). */
  ready?: boolean;
  met: number;
  total: number;
  items: IChecklistItem[];
}

export interface ICheckReply {
  diagnostics: IDiagnostic[];
  maturity: IMaturity;
  fixable: number;
}

export interface IFixReply {
  notebook: INotebookJSON;
  fixed: IDiagnostic[];
  remaining: IDiagnostic[];
}

export interface IConvertReply {
  output: string;
  files: string[];
  steps: { name: string; after: string[]; inputs: string[]; outputs: string[] }[];
  edges: { source: string; target: string; kind: 'data' | 'order' }[];
  parameters: { name: string; type: string; default: unknown }[];
  command: string;
  warnings: string[];
}

export interface ICellJSON {
  id?: string;
  cell_type: string;
  source: string | string[];
  metadata: Record<string, unknown>;
  outputs?: unknown[];
  execution_count?: number | null;
}

export interface INotebookJSON {
  cells: ICellJSON[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

export namespace CommandIDs {
  export const open = 'nb2pipe:open-hints';
  export const check = 'nb2pipe:check';
  export const convert = 'nb2pipe:convert';
  export const openRule = 'nb2pipe:open-rule';
}

/** A rule's page, as the server extension sends it (`GET nb2pipe/rules/CODE`). */
export interface IRulePage {
  code: string;
  name: string;
  url: string;
  markdown: string;
}

export const PLUGIN_ID = '@nb2pipe/labextension:plugin';
