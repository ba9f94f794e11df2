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
  maturity: IMaturity | null;
  fixable: number;
  /** Set for a step notebook nb2pipe generated: its pipeline and step. */
  generated?: { pipeline: string; step: string };
  /** The notebook's steps as tagged now (null: no pipeline tag yet). */
  steps?: IStepOutline | null;
}

/** A code cell's place in the pipeline, as the server reads its tags. */
export interface ICellPlace {
  index: number;
  id: string | null;
  /** step, imports, functions, parameters, metrics, skip; null before the first tag. */
  role: string | null;
  /** The step the cell runs in (the metrics cells: the metrics step). */
  step: string | null;
  /** The cell carries the tag itself (else it joins the cell above). */
  own: boolean;
}

/** The notebook's pipeline as tagged now: what the chips and the live DAG show. */
export interface IStepOutline {
  cells: ICellPlace[];
  /** In the notebook's order; `colour`: the step's index in the palette. */
  steps: { name: string; after: string[]; inputs: string[]; outputs: string[]; colour: number }[];
  edges: { source: string; target: string; kind: 'data' | 'order' }[];
  /** False when the build found errors: the edges are then the `prev:` tags only. */
  complete: boolean;
}

export interface IFixReply {
  notebook: INotebookJSON;
  fixed: IDiagnostic[];
  remaining: IDiagnostic[];
  /** A package the fix imports, declared in the project's requirements file (server path). */
  declared?: { file: string; lines: string[] };
}

export interface IConvertReply {
  output: string;
  files: string[];
  /** `colour`: the step's place in the notebook (its chips' colour). */
  steps: { name: string; after: string[]; inputs: string[]; outputs: string[]; colour?: number }[];
  edges: { source: string; target: string; kind: 'data' | 'order' }[];
  parameters: { name: string; type: string; default: unknown }[];
  command: string;
  warnings: string[];
  /** Found again after a reload (written by an earlier conversion, not just now). */
  restored?: boolean;
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
  export const run = 'nb2pipe:run';
  export const openPipeline = 'nb2pipe:open-pipeline';
  export const editStep = 'nb2pipe:edit-step';
}

/** A rule's page, as the server extension sends it (`GET nb2pipe/rules/CODE`). */
export interface IRulePage {
  code: string;
  name: string;
  url: string;
  markdown: string;
}

export const PLUGIN_ID = '@nb2pipe/labextension:plugin';

/** A step of a run, as run.json records it (`notebook`: server-relative). */
export interface IStepRun {
  status: 'waiting' | 'running' | 'succeeded' | 'failed' | 'skipped' | string;
  started: string | null;
  finished: string | null;
  seconds: number | null;
  notebook: string | null;
  error: { message?: string; cell?: number; line?: number; during?: string } | null;
  /** The run whose results the step cache reused for this step. */
  cached_from?: string | null;
  /** While it runs: the notebook cell running (as the user numbers it). */
  cell?: number | null;
}

/** A run, as `nb2pipe run` writes runs/RUN_ID/run.json. */
export interface IRun {
  run_id: string;
  status: 'running' | 'succeeded' | 'failed' | 'interrupted' | string;
  parameters: Record<string, unknown>;
  metrics: Record<string, unknown>;
  seconds: number | null;
  started: string | null;
  steps: Record<string, IStepRun>;
  tracking: { run_id?: string; experiment_id?: string; uri?: string };
  /** After the steps: what the run does (validating data, registering the model…). */
  phase?: { name: string; started: string } | null;
}

/** A run process started from the panel (`active.json`). */
export interface IRunProcess {
  pid: number;
  started: string;
  command: string;
  /** The last signal a stop sent (SIGINT, then SIGTERM, then SIGKILL), while it works. */
  stopping?: string;
  signals?: { signal: string; at: string }[];
}

/** What `POST nb2pipe/runs` answers: the pipeline's runs, newest first. */
export interface IRunsReply {
  pipeline: string;
  active: IRunProcess | null;
  /** The last run process that ended: when, its exit code, the signals a stop sent. */
  last?: (IRunProcess & { ended?: string; returncode?: number }) | null;
  runs: IRun[];
  output?: string;
  mlflow_ui: string | null;
  /** The files nb2pipe wrote into the pipeline folder (its manifest), relative to it. */
  files?: string[];
  /** The pipeline's steps, edges and parameters (as a conversion reply has them). */
  summary: Omit<IConvertReply, 'files' | 'warnings'>;
}
