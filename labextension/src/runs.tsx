/**
 * Running a converted pipeline from the panel: a form of its parameters, Run / Stop /
 * Resume, the runs (a sweep's best marked), and each step's state on the DAG. The run is
 * the command line's `nb2pipe run`, started by the server extension (nb2pipe/run); the
 * panel polls nb2pipe/runs while one goes.
 */

import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IConvertReply, IRun, IRunProcess, IRunsReply } from './tokens';

export interface IRunActions {
  startRun(values: Record<string, string>, tracking: boolean, resume?: string): Promise<void>;
  stopRun(): Promise<void>;
  openStep(notebook: string, cell: number | null): void;
}

/** A parameter's default as the user types it (`nb2pipe run -p NAME=TEXT`). */
export function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The best run of a sweep by the first metric (higher is better, unless loss, error…). */
export function bestRun(runs: IRun[]): IRun | null {
  const done = runs.filter(r => r.status === 'succeeded' && Object.keys(r.metrics).length);
  if (done.length < 2) {
    return null;
  }
  const metric = Object.keys(done[0].metrics).sort()[0];
  const lower = /loss|error|mse|mae|rmse/i.test(metric);
  let best: IRun | null = null;
  for (const run of done) {
    const value = run.metrics[metric];
    if (typeof value !== 'number') {
      continue;
    }
    const current = best ? (best.metrics[metric] as number) : null;
    if (current === null || (lower ? value < current : value > current)) {
      best = run;
    }
  }
  return best;
}

export function RunSection(props: {
  conversion: IConvertReply;
  runs: IRunsReply | null;
  error: string | null;
  actions: IRunActions;
  trans: TranslationBundle;
  /** The runs' list under the form (the pipeline view has a table of its own). */
  showRuns?: boolean;
}): JSX.Element {
  const { conversion, runs, error, actions, trans } = props;
  const showRuns = props.showRuns ?? true;
  const defaults = Object.fromEntries(conversion.parameters.map(p => [p.name, asText(p.default)]));
  const [values, setValues] = React.useState<Record<string, string>>(defaults);
  const [tracking, setTracking] = React.useState(true);
  const active = runs?.active ?? null;
  const latest = runs?.runs[0] ?? null;
  const resumable = latest && !active && ['failed', 'interrupted'].includes(latest.status);
  const changed = Object.fromEntries(
    Object.entries(values).filter(([name, text]) => text !== defaults[name])
  );
  const best = runs ? bestRun(runs.runs) : null;
  return (
    <div className="nb2pipe-run">
      <form
        className="nb2pipe-run-form"
        onSubmit={event => {
          event.preventDefault();
          void actions.startRun(changed, tracking);
        }}
      >
        {conversion.parameters.map(p => (
          <label key={p.name} className="nb2pipe-parameter">
            <span>{p.name}</span>
            <input
              className="jp-mod-styled"
              name={p.name}
              value={values[p.name] ?? ''}
              title={trans.__('%1 (default %2); A,B runs one run per value', p.type, defaults[p.name])}
              onChange={event => setValues({ ...values, [p.name]: event.target.value })}
            />
          </label>
        ))}
        <label className="nb2pipe-tracking">
          <input type="checkbox" checked={tracking} onChange={e => setTracking(e.target.checked)} />
          {trans.__('Track with MLflow')}
        </label>
        <div className="nb2pipe-run-buttons">
          <button type="submit" className="jp-mod-styled jp-mod-accept nb2pipe-run-button" disabled={!!active}>
            {active ? trans.__('Running…') : trans.__('Run')}
          </button>
          {active && (
            <button type="button" className="jp-mod-styled jp-mod-warn nb2pipe-stop-button"
                    disabled={!!active.stopping}
                    onClick={() => void actions.stopRun()}>
              {active.stopping ? trans.__('Stopping…') : trans.__('Stop')}
            </button>
          )}
          {resumable && (
            <button type="button" className="jp-mod-styled nb2pipe-resume-button"
                    title={trans.__('Run again what did not succeed in run %1', latest!.run_id)}
                    onClick={() => void actions.startRun({}, tracking, latest!.run_id)}>
              {trans.__('Resume')}
            </button>
          )}
        </div>
      </form>
      {error && <div className="nb2pipe-error" role="alert">{error}</div>}
      {active?.stopping && (
        <div className="nb2pipe-stopping" data-signal={active.stopping}>
          {stopText(active, trans)}
          {active.stopping !== 'SIGKILL' &&
            trans.__('; if it goes on, %1 follows 10 s later',
                     active.stopping === 'SIGINT' ? 'SIGTERM' : 'SIGKILL')}
        </div>
      )}
      {!active && runs?.last?.signals?.length ? (
        <div className="nb2pipe-stopped" data-signal={runs.last.stopping}>
          {trans.__('The run process ended at %1 after %2%3.',
                    runs.last.ended ? new Date(runs.last.ended).toLocaleTimeString() : '?',
                    runs.last.signals.map(s => s.signal).join(', then '),
                    runs.last.returncode !== undefined
                      ? trans.__(' (exit code %1)', runs.last.returncode) : '')}
        </div>
      ) : null}
      {latest && <StepStates run={latest} busy={!!active} actions={actions} trans={trans} />}
      {showRuns && runs && runs.runs.length > 0 && (
        <RunList runs={runs} best={best} trans={trans} />
      )}
    </div>
  );
}

function stopText(process: IRunProcess, trans: TranslationBundle): string {
  const sent = process.signals?.[process.signals.length - 1];
  return trans.__('Stopping: %1 sent %2 ago', process.stopping ?? '', elapsed(sent?.at ?? null));
}

function elapsed(started: string | null): string {
  if (!started) {
    return '';
  }
  const seconds = Math.max(0, (Date.now() - Date.parse(started)) / 1000);
  return `${seconds.toFixed(0)} s`;
}

/** Each step's state in the latest run; a failed step links to its executed notebook. */
function StepStates(props: {
  run: IRun;
  busy: boolean;
  actions: IRunActions;
  trans: TranslationBundle;
}): JSX.Element {
  const { run, busy, actions, trans } = props;
  return (
    <div className="nb2pipe-run-steps" data-run={run.run_id} data-status={run.status}>
      <div className="nb2pipe-run-title">
        {trans.__('Run %1: %2', run.run_id, run.status)}
        {busy && run.phase && (
          <span className="nb2pipe-run-phase" data-phase={run.phase.name}>
            {' — '}
            {trans.__('%1…, %2', run.phase.name, elapsed(run.phase.started))}
          </span>
        )}
      </div>
      <ul>
        {Object.entries(run.steps).map(([name, step]) => (
          <li key={name} className={`nb2pipe-step nb2pipe-step-${step.status}`} data-step={name}>
            <span className="nb2pipe-step-name">{name}</span>{' '}
            <span className="nb2pipe-step-status">
              {step.status === 'running'
                ? step.cell
                  ? trans.__('running cell %1, %2', step.cell, elapsed(step.started))
                  : trans.__('running, %1', elapsed(step.started))
                : step.status === 'succeeded' && step.cached_from
                  ? trans.__('reused from run %1', step.cached_from)
                  : step.status === 'succeeded' && step.seconds !== null
                    ? trans.__('succeeded in %1 s', step.seconds.toFixed(1))
                    : step.status}
            </span>
            {step.status === 'failed' && step.error && (
              <div className="nb2pipe-step-error">
                {step.error.cell
                  ? trans.__('cell %1, line %2: %3', step.error.cell, step.error.line ?? '?', step.error.message ?? '')
                  : `${step.error.during ?? ''} ${step.error.message ?? ''}`}
                {step.notebook && (
                  <>
                    {' '}
                    <a
                      href="#"
                      className="nb2pipe-open-step"
                      onClick={event => {
                        event.preventDefault();
                        actions.openStep(step.notebook!, step.error?.cell ?? null);
                      }}
                    >
                      {trans.__('open the executed notebook')}
                    </a>
                  </>
                )}
              </div>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** The runs, newest first: status, parameters, metrics, duration, the MLflow run. */
function RunList(props: { runs: IRunsReply; best: IRun | null; trans: TranslationBundle }): JSX.Element {
  const { runs, best, trans } = props;
  const metricNames = [...new Set(runs.runs.flatMap(r => Object.keys(r.metrics)))].sort();
  return (
    <details className="nb2pipe-runs" open>
      <summary>{trans._n('%1 run', '%1 runs', runs.runs.length)}</summary>
      <table className="nb2pipe-runs-table">
        <thead>
          <tr>
            <th />
            <th>{trans.__('status')}</th>
            <th>{trans.__('parameters')}</th>
            {metricNames.map(m => (
              <th key={m}>{m}</th>
            ))}
            <th>{trans.__('time')}</th>
          </tr>
        </thead>
        <tbody>
          {runs.runs.map(run => (
            <tr key={run.run_id} data-run={run.run_id} className={run === best ? 'nb2pipe-best' : ''}
                title={run.run_id}>
              <td>{run === best ? '★' : ''}</td>
              <td>
                {runs.mlflow_ui && run.tracking.run_id ? (
                  <a href={`${runs.mlflow_ui.replace(/\/$/, '')}/#/experiments/${run.tracking.experiment_id ?? '0'}/runs/${run.tracking.run_id}`}
                     target="_blank" rel="noopener noreferrer">
                    {run.status}
                  </a>
                ) : (
                  run.status
                )}
              </td>
              <td className="nb2pipe-run-parameters">
                {Object.entries(run.parameters).map(([k, v]) => `${k}=${asText(v)}`).join(', ')}
              </td>
              {metricNames.map(m => (
                <td key={m}>{typeof run.metrics[m] === 'number' ? (run.metrics[m] as number).toPrecision(4) : ''}</td>
              ))}
              <td>{run.seconds !== null && run.seconds !== undefined ? `${run.seconds.toFixed(1)} s` : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
