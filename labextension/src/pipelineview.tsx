/**
 * The pipeline view: a main-area tab per converted pipeline, with room the sidebar lacks.
 * The DAG laid out by depth, its nodes coloured by the latest run's states and clickable;
 * the selected step's details (state, time, error, reused from the cache, its executed
 * notebook, its frames' validation, the log's tail); the parameters form with Run / Stop /
 * Resume; and the runs, sortable by any column, two of them compared side by side, with a
 * plot of a metric against a swept parameter.
 *
 * It reads what the panel reads (`POST nb2pipe/runs`) and polls it every second while a run
 * goes.
 */

import { Message } from '@lumino/messaging';
import { ReactWidget } from '@jupyterlab/ui-components';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { Dag } from './panel';
import { asText, IRunActions, RunSection } from './runs';
import { IRun, IRunsReply } from './tokens';

export interface IViewActions extends IRunActions {
  /** Read the pipeline's runs (the panel's `nb2pipe/runs`). */
  fetchRuns(pipeline: string): Promise<IRunsReply>;
}

export class PipelineView extends ReactWidget {
  readonly pipeline: string;
  reply: IRunsReply | null = null;
  error: string | null = null;
  /** A refused start or stop (the server's reply), shown by the form. */
  runError: string | null = null;
  selected: string | null = null;
  private _polling: number | undefined;

  constructor(pipeline: string, private _actions: IViewActions, private _trans: TranslationBundle) {
    super();
    this.pipeline = pipeline;
    this.addClass('nb2pipe-pipeline-view');
    this.id = `nb2pipe-pipeline-${pipeline.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    this.title.label = pipeline.split('/').pop() ?? pipeline;
    this.title.caption = this._trans.__('Pipeline %1', pipeline);
    this.title.closable = true;
  }

  async refresh(): Promise<void> {
    window.clearTimeout(this._polling);
    try {
      this.reply = await this._actions.fetchRuns(this.pipeline);
      this.error = null;
    } catch (error) {
      this.error = String((error as Error)?.message ?? error);
    }
    this.update();
    if (this.reply?.active && !this.isDisposed) {
      this._polling = window.setTimeout(() => void this.refresh(), 1000);
    }
  }

  /** A closed view is gone (opening it again makes a new one): a view only detached would
   * stay in the panel's map, and "Open the pipeline view" would show nothing. */
  protected onCloseRequest(msg: Message): void {
    super.onCloseRequest(msg);
    this.dispose();
  }

  dispose(): void {
    window.clearTimeout(this._polling);
    super.dispose();
  }

  protected render(): JSX.Element {
    const trans = this._trans;
    const reply = this.reply;
    if (!reply) {
      return <div className="nb2pipe-view-loading">{this.error ?? trans.__('Reading the pipeline…')}</div>;
    }
    const actions: IRunActions = {
      ...this._actions,
      startRun: async (values, tracking, resume) => {
        await this._actions.startRun(values, tracking, resume);
        await this.refresh();
      },
      stopRun: async () => {
        await this._actions.stopRun();
        await this.refresh();
      }
    };
    const latest = reply.runs[0] ?? null;
    const states = latest
      ? Object.fromEntries(Object.entries(latest.steps).map(([name, s]) => [name, s.status]))
      : {};
    return (
      <div className="nb2pipe-view">
        <h2 className="nb2pipe-view-title">{reply.pipeline}</h2>
        {this.error && <div className="nb2pipe-error" role="alert">{this.error}</div>}
        <div className="nb2pipe-view-top">
          <div className="nb2pipe-view-graph">
            <Dag result={reply.summary} states={states} trans={trans} selected={this.selected}
                 colours={Object.fromEntries(reply.summary.steps.map((step, i) => [step.name, step.colour ?? i]))}
                 onSelect={name => {
                   this.selected = name === this.selected ? null : name;
                   this.update();
                 }} />
            {this.selected && (
              <StepDetails name={this.selected} run={latest} reply={reply} actions={actions}
                           trans={trans} />
            )}
          </div>
          <div className="nb2pipe-view-run">
            <RunSection conversion={{ ...reply.summary, files: [], warnings: [] }} runs={reply}
                        error={this.runError} actions={actions} trans={trans} showRuns={false} />
          </div>
        </div>
        <RunsTable reply={reply} trans={trans} />
      </div>
    );
  }
}

/** One step of the latest run: what a user asks when they click its node. */
function StepDetails(props: {
  name: string;
  run: IRun | null;
  reply: IRunsReply;
  actions: IRunActions;
  trans: TranslationBundle;
}): JSX.Element {
  const { name, run, reply, actions, trans } = props;
  const step = run?.steps[name];
  const frames = Object.entries(((run as any)?.validation?.frames ?? {}) as Record<string, any>)
    .filter(([frame]) => frame.startsWith(`${name}.`));
  const tail = (reply.output ?? '').split('\n').slice(-12).join('\n');
  return (
    <section className="nb2pipe-step-details" data-step={name}>
      <h3>{name}</h3>
      {!step ? (
        <p>{trans.__('Not run yet.')}</p>
      ) : (
        <>
          <p className="nb2pipe-step-details-status" data-status={step.status}>
            {step.status}
            {step.seconds !== null && step.seconds !== undefined
              ? trans.__(' in %1 s', step.seconds.toFixed(1)) : ''}
            {step.cached_from ? trans.__(' (reused from run %1)', step.cached_from) : ''}
          </p>
          {step.error && (
            <p className="nb2pipe-step-error">
              {step.error.cell
                ? trans.__('cell %1, line %2: %3', step.error.cell, step.error.line ?? '?', step.error.message ?? '')
                : `${step.error.during ?? ''} ${step.error.message ?? ''}`}
            </p>
          )}
          {step.notebook && (
            <button type="button" className="jp-mod-styled nb2pipe-open-step-notebook"
                    onClick={() => actions.openStep(step.notebook!, step.error?.cell ?? null)}>
              {step.error?.cell ? trans.__('Open the executed notebook at the failing cell')
                : trans.__('Open the executed notebook')}
            </button>
          )}
          {frames.length > 0 && (
            <ul className="nb2pipe-step-frames">
              {frames.map(([frame, report]) => (
                <li key={frame} data-status={report?.status}>
                  {trans.__('%1: %2', frame, report?.status ?? '?')}
                  {report?.rows !== undefined && report?.rows !== null ? trans.__(' (%1 rows)', report.rows) : ''}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      {tail && (
        <details className="nb2pipe-log">
          <summary>{trans.__('The run\'s output (last lines)')}</summary>
          <pre>{tail}</pre>
        </details>
      )}
    </section>
  );
}

type SortKey = { column: string; descending: boolean };

function cell(run: IRun, column: string): string | number {
  if (column === 'run') {
    return run.run_id;
  }
  if (column === 'status') {
    return run.status;
  }
  if (column === 'time') {
    return run.seconds ?? Number.NaN;
  }
  if (column.startsWith('p:')) {
    const value = run.parameters[column.slice(2)];
    return typeof value === 'number' ? value : asText(value ?? '');
  }
  const value = run.metrics[column.slice(2)];
  return typeof value === 'number' ? value : Number.NaN;
}

/** The runs: sort by a column, pick two to compare, plot a metric against a parameter. */
export function RunsTable(props: { reply: IRunsReply; trans: TranslationBundle }): JSX.Element {
  const { reply, trans } = props;
  const [sort, setSort] = React.useState<SortKey>({ column: 'run', descending: true });
  const [picked, setPicked] = React.useState<string[]>([]);
  const runs = reply.runs;
  const parameters = [...new Set(runs.flatMap(r => Object.keys(r.parameters)))].sort();
  const swept = parameters.filter(p => new Set(runs.map(r => asText(r.parameters[p]))).size > 1);
  const metrics = [...new Set(runs.flatMap(r => Object.keys(r.metrics)))].sort();
  const columns = ['run', 'status', ...swept.map(p => `p:${p}`), ...metrics.map(m => `m:${m}`), 'time'];
  const sorted = [...runs].sort((a, b) => {
    const x = cell(a, sort.column);
    const y = cell(b, sort.column);
    const order = typeof x === 'number' && typeof y === 'number'
      ? (Number.isNaN(x) ? 1 : Number.isNaN(y) ? -1 : x - y)
      : String(x).localeCompare(String(y));
    return sort.descending ? -order : order;
  });
  const compared = picked.map(id => runs.find(r => r.run_id === id)).filter(Boolean) as IRun[];
  return (
    <section className="nb2pipe-view-runs">
      <h3>{trans._n('%1 run', '%1 runs', runs.length)}</h3>
      <table className="nb2pipe-view-runs-table">
        <thead>
          <tr>
            <th title={trans.__('Pick two runs to compare')}>⇄</th>
            {columns.map(c => (
              <th key={c} data-column={c} aria-sort={sort.column === c ? (sort.descending ? 'descending' : 'ascending') : 'none'}
                  onClick={() => setSort({ column: c, descending: sort.column === c ? !sort.descending : false })}>
                {c.replace(/^[pm]:/, '')}{sort.column === c ? (sort.descending ? ' ▼' : ' ▲') : ''}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {sorted.map(run => (
            <tr key={run.run_id} data-run={run.run_id}>
              <td>
                <input type="checkbox" className="nb2pipe-compare-pick" checked={picked.includes(run.run_id)}
                       onChange={event => setPicked(event.target.checked
                         ? [...picked.filter(id => id !== run.run_id), run.run_id].slice(-2)
                         : picked.filter(id => id !== run.run_id))} />
              </td>
              {columns.map(c => {
                const value = cell(run, c);
                return (
                  <td key={c} data-column={c}>
                    {typeof value === 'number'
                      ? Number.isNaN(value) ? '' : c === 'time' ? `${value.toFixed(1)} s`
                        : c.startsWith('m:') ? value.toPrecision(4) : String(value)
                      : value}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      {compared.length === 2 && <Comparison runs={compared} trans={trans} />}
      {swept.length > 0 && metrics.length > 0 && (
        <MetricPlot runs={runs} parameter={swept[0]} metric={metrics[0]} trans={trans} />
      )}
    </section>
  );
}

/** Two runs side by side: parameters, metrics and the data files' hashes that differ. */
function Comparison(props: { runs: IRun[]; trans: TranslationBundle }): JSX.Element {
  const { runs, trans } = props;
  const [a, b] = runs;
  const hashes = (run: IRun): Record<string, string> => Object.fromEntries(
    (((run as any).lineage?.data ?? []) as any[]).map(d => [d.path ?? d.expression, d.sha256 ?? d.etag ?? '']));
  const rows: [string, string, string][] = [];
  const names = (x: Record<string, unknown>, y: Record<string, unknown>): string[] =>
    [...new Set([...Object.keys(x), ...Object.keys(y)])].sort();
  for (const p of names(a.parameters, b.parameters)) {
    rows.push([p, asText(a.parameters[p] ?? ''), asText(b.parameters[p] ?? '')]);
  }
  for (const m of names(a.metrics, b.metrics)) {
    rows.push([m, asText(a.metrics[m] ?? ''), asText(b.metrics[m] ?? '')]);
  }
  const [ha, hb] = [hashes(a), hashes(b)];
  for (const f of names(ha, hb)) {
    rows.push([f, (ha[f] ?? '').slice(0, 12), (hb[f] ?? '').slice(0, 12)]);
  }
  return (
    <table className="nb2pipe-compare">
      <thead>
        <tr><th />{runs.map(r => <th key={r.run_id}>{r.run_id}</th>)}</tr>
      </thead>
      <tbody>
        {rows.map(([name, x, y]) => (
          <tr key={name} className={x !== y ? 'nb2pipe-differs' : ''} data-row={name}>
            <th>{name}</th><td>{x}</td><td>{y}</td>
          </tr>
        ))}
      </tbody>
      <caption>{trans.__('Rows that differ are marked.')}</caption>
    </table>
  );
}

/** A metric against a swept parameter, one dot per succeeded run. */
function MetricPlot(props: { runs: IRun[]; parameter: string; metric: string; trans: TranslationBundle }): JSX.Element | null {
  const { runs, parameter, metric, trans } = props;
  const points = runs
    .filter(r => typeof r.parameters[parameter] === 'number' && typeof r.metrics[metric] === 'number')
    .map(r => ({ x: r.parameters[parameter] as number, y: r.metrics[metric] as number, id: r.run_id }));
  if (points.length < 2) {
    return null;
  }
  const [w, h, pad] = [320, 160, 28];
  const xs = points.map(p => p.x);
  const ys = points.map(p => p.y);
  const scale = (v: number, lo: number, hi: number, size: number): number =>
    hi === lo ? size / 2 : ((v - lo) / (hi - lo)) * size;
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  return (
    <figure className="nb2pipe-metric-plot">
      <svg width={w} height={h} role="img" aria-label={trans.__('%1 against %2', metric, parameter)}>
        <line x1={pad} y1={h - pad} x2={w - 5} y2={h - pad} className="nb2pipe-axis" />
        <line x1={pad} y1={5} x2={pad} y2={h - pad} className="nb2pipe-axis" />
        {points.map(p => (
          <circle key={p.id} data-run={p.id} r={4}
                  cx={pad + scale(p.x, x0, x1, w - pad - 10)}
                  cy={h - pad - scale(p.y, y0, y1, h - pad - 10)}>
            <title>{`${parameter}=${p.x}: ${metric}=${p.y}`}</title>
          </circle>
        ))}
      </svg>
      <figcaption>{trans.__('%1 against %2', metric, parameter)}</figcaption>
    </figure>
  );
}
