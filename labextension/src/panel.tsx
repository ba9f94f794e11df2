/** The "MLOps hints" sidebar: the view of a HintsModel, plus conversion results. */

import { Clipboard } from '@jupyterlab/apputils';
import {
  copyIcon,
  errorIcon,
  infoIcon,
  ReactWidget,
  refreshIcon,
  settingsIcon,
  ToolbarButtonComponent,
  UseSignal
} from '@jupyterlab/ui-components';
import { TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

import { HintsModel, ICellGroup } from './model';
import { IRunActions, RunSection } from './runs';
import { stepColour } from './steps';
import { IConvertReply, IDiagnostic, IRunsReply, IStepOutline } from './tokens';

export interface IPanelActions extends IRunActions {
  selectCell(cellId: string | null, cellNumber: number | null): void;
  /** Fix this finding (`one`), or every finding of its rule. */
  applyFix(diagnostic: IDiagnostic, scope?: 'one' | 'all'): Promise<void>;
  /** Open a file the conversion wrote (a server path). */
  openFile(path: string): void;
  /** The panel's settings (select, ignore, debounce) in the Settings Editor. */
  openSettings(): void;
  convert(): Promise<void>;
  recheck(): void;
  /** Open the rule's page in a JupyterLab tab. */
  openRule(code: string): void;
  /** Open the pipeline view (a main-area tab) of a converted folder. */
  openPipeline(pipeline: string): void;
}

export interface IPanelState {
  notebook: string | null;
  converting: boolean;
  conversion: IConvertReply | null;
  conversionError: string | null;
  conversionProblems: IDiagnostic[];
  fixing: string | null;
  fixError: string | null;
  /** What a fix did besides the notebook (a requirement it declared), with the file. */
  fixNote: { text: string; file: string } | null;
  /** The converted pipeline's runs (polled while one goes). */
  runs: IRunsReply | null;
  runError: string | null;
}

export class HintsPanel extends ReactWidget {
  constructor(
    readonly model: HintsModel,
    private readonly actions: IPanelActions,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.addClass('nb2pipe-panel');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('MLOps hints'));
  }

  readonly state: IPanelState = {
    notebook: null,
    converting: false,
    conversion: null,
    conversionError: null,
    conversionProblems: [],
    fixing: null,
    fixError: null,
    fixNote: null,
    runs: null,
    runError: null
  };

  get shown(): ISignal<this, void> {
    return this._shown;
  }

  update(): void {
    this._stateChanged.emit();
    super.update();
  }

  protected onAfterShow(message: Message): void {
    super.onAfterShow(message);
    this._shown.emit();
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => (
          <UseSignal signal={this._stateChanged}>
            {() => (
              <HintsView
                model={this.model}
                state={this.state}
                actions={this.actions}
                trans={this.trans}
              />
            )}
          </UseSignal>
        )}
      </UseSignal>
    );
  }

  private _shown = new Signal<this, void>(this);
  private _stateChanged = new Signal<this, void>(this);
}

function HintsView(props: {
  model: HintsModel;
  state: IPanelState;
  actions: IPanelActions;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, state, actions, trans } = props;
  if (!state.notebook) {
    return (
      <div className="nb2pipe-empty">{trans.__('Open a notebook to see its MLOps hints.')}</div>
    );
  }
  const maturity = model.maturity;
  // NB406's fix is "tag steps": offered as a button next to "Convert to pipeline"
  const tagSteps = model.diagnostics.find(d => d.code === 'NB406' && d.fix) ?? null;
  const counts = new Map<string, number>();
  for (const d of model.diagnostics) {
    if (d.fix) {
      counts.set(d.code, (counts.get(d.code) ?? 0) + 1);
    }
  }
  return (
    <>
      <div className="nb2pipe-toolbar" role="toolbar" aria-label={trans.__('MLOps hints')}>
        <h2 className="nb2pipe-title">{trans.__('MLOps hints')}</h2>
        {model.status === 'ready' && (
          <span className="nb2pipe-count" title={trans._n('%1 finding', '%1 findings', model.diagnostics.length)}>
            {model.diagnostics.length}
          </span>
        )}
        <span className="nb2pipe-toolbar-spacer" />
        <ToolbarButtonComponent
          className="nb2pipe-refresh"
          icon={refreshIcon}
          tooltip={trans.__('Check the notebook again')}
          onClick={() => actions.recheck()}
        />
        <ToolbarButtonComponent
          className="nb2pipe-settings"
          icon={settingsIcon}
          tooltip={trans.__('Settings: the rules to select or ignore, the delay after edits')}
          onClick={() => actions.openSettings()}
        />
      </div>
    <div className="nb2pipe-content">
      <div className="nb2pipe-status" aria-live="polite" data-status={model.status}
           role={model.status === 'error' ? 'alert' : undefined}>
        {model.status === 'checking'
          ? trans.__('Checking…')
          : model.status === 'error'
            ? trans.__('nb2pipe could not check this notebook: %1. The findings shown before are hidden; the refresh button tries again.', model.error ?? '')
            : model.status === 'ready'
              ? trans._n('%1 finding', '%1 findings', model.diagnostics.length)
              : ''}
      </div>
      {maturity && model.status !== 'error' && (
        <section className="nb2pipe-checklist" aria-label={trans.__('Level 1 checklist')}>
          <h3>
            {maturity.ready
              ? trans.__('MLOps level 0 · ready for level 1 (%1 of %2 items)', maturity.met, maturity.total)
              : trans.__('MLOps level 0 · %1 of %2 items ready for a pipeline', maturity.met, maturity.total)}
          </h3>
          <p className="nb2pipe-level1-note">
            {trans.__(
              'Level 1 also needs the converted pipeline: data validation, a model gate with a registry, lineage and a trigger (Convert to pipeline adds them).'
            )}
          </p>
          <ul>
            {maturity.items.map(item => (
              <li
                key={item.key}
                className={item.met ? 'nb2pipe-met' : 'nb2pipe-unmet'}
                title={item.met ? item.meaning : item.clears}
              >
                <span aria-hidden="true">{item.met ? '✓' : '✗'}</span> {item.title}
                {!item.met && (
                  <span className="nb2pipe-item-detail">
                    {Object.keys(item.diagnostics).length
                      ? ' — ' + Object.entries(item.diagnostics).map(([code, n]) => `${code}×${n}`).join(', ')
                      : item.note ? ` — ${item.note}` : ''}
                  </span>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
      {state.fixError && <div className="nb2pipe-error" role="alert">{state.fixError}</div>}
      {state.fixNote && (
        <div className="nb2pipe-fix-note" role="status">
          {state.fixNote.text}{' '}
          <a href="#" onClick={event => {
            event.preventDefault();
            actions.openFile(state.fixNote!.file);
          }}>{trans.__('Open %1', state.fixNote.file)}</a>
        </div>
      )}
      <section className="nb2pipe-findings" aria-label={trans.__('Findings')}>
        {model.status !== 'error' && model.groups.map(group => (
          <CellFindings key={group.key} group={group} counts={counts} state={state} actions={actions} trans={trans} />
        ))}
      </section>
      {model.generated && (
        <p className="nb2pipe-generated" role="note">
          {trans.__(
            'Generated by nb2pipe: step `%1` of the pipeline `%2`. Edit the notebook it came from and convert that again; this file is rewritten.',
            model.generated.step,
            model.generated.pipeline
          )}
        </p>
      )}
      {!model.generated && (
      <section className="nb2pipe-convert" aria-label={trans.__('Pipeline')}>
        {tagSteps && (
          <button
            className="jp-mod-styled nb2pipe-tag-button"
            disabled={state.fixing !== null}
            title={trans.__('Propose steps from the headings and the dataflow (nb2pipe convert --auto)')}
            onClick={() => void actions.applyFix(tagSteps)}
          >
            {state.fixing === tagSteps.code ? trans.__('Tagging…') : trans.__('Tag steps')}
          </button>
        )}
        <button
          className="jp-mod-styled jp-mod-accept nb2pipe-convert-button"
          disabled={state.converting}
          onClick={() => void actions.convert()}
        >
          {state.converting ? trans.__('Converting…') : trans.__('Convert to pipeline')}
        </button>
        {state.conversionError && (
          <div className="nb2pipe-error" role="alert">
            {state.conversionError}
            <ul>
              {state.conversionProblems.map((d, i) => (
                <li key={i}>{`${d.code} ${d.cell ? trans.__('cell %1', d.cell.number) + ': ' : ''}${d.message}`}</li>
              ))}
            </ul>
          </div>
        )}
        {!state.conversion && model.steps && (
          <StepsOutline outline={model.steps} actions={actions} trans={trans} />
        )}
        {state.conversion && (
          <Conversion result={state.conversion} outline={model.steps} runs={state.runs}
                      actions={actions} trans={trans} />
        )}
        {state.conversion && (
          <RunSection
            key={state.conversion.output}
            conversion={state.conversion}
            runs={state.runs}
            error={state.runError}
            actions={actions}
            trans={trans}
          />
        )}
      </section>
      )}
    </div>
    </>
  );
}

function CellFindings(props: {
  group: ICellGroup;
  counts: Map<string, number>;
  state: IPanelState;
  actions: IPanelActions;
  trans: TranslationBundle;
}): JSX.Element {
  const { group, state, actions, trans } = props;
  const title = group.cellNumber === null ? trans.__('Notebook') : trans.__('Cell %1', group.cellNumber);
  return (
    <div className="nb2pipe-cell-group" data-cell-id={group.cellId ?? ''}>
      <h4>{title}</h4>
      <ul>
        {group.diagnostics.map((d, index) => (
          <li key={index} className={`nb2pipe-finding nb2pipe-${d.severity}`} data-code={d.code}>
            <div
              className="nb2pipe-finding-text"
              role="button"
              tabIndex={0}
              title={d.help ?? ''}
              onClick={() => actions.selectCell(group.cellId, group.cellNumber)}
              onKeyDown={event => {
                if (event.key === 'Enter' || event.key === ' ') {
                  event.preventDefault();
                  actions.selectCell(group.cellId, group.cellNumber);
                }
              }}
            >
              <span className="nb2pipe-severity" aria-label={d.severity} title={d.severity}>
                {d.severity === 'info' ? (
                  <infoIcon.react tag="span" className="nb2pipe-severity-icon" />
                ) : (
                  <errorIcon.react tag="span" className="nb2pipe-severity-icon" />
                )}
              </span>{' '}
              <a
                href={d.url}
                target="_blank"
                rel="noopener noreferrer"
                className="nb2pipe-code"
                title={trans.__('Show the rule (Ctrl/Cmd-click: its web page)')}
                onClick={event => {
                  event.stopPropagation();
                  if (!(event.ctrlKey || event.metaKey)) {
                    event.preventDefault();
                    actions.openRule(d.code);
                  }
                }}
              >
                {d.code}
              </a>{' '}
              {d.cell && <span className="nb2pipe-line">{trans.__('line %1', d.location.row)} </span>}
              <span className="nb2pipe-message">{d.message}</span>
            </div>
            {d.fix && (
              <div className="nb2pipe-fix-buttons">
                <button
                  className="jp-mod-styled nb2pipe-fix-button"
                  disabled={state.fixing !== null}
                  title={trans.__('%1 — this finding only. Undo: Esc, then Z (command mode); Shift+Z redoes.', d.fix.message)}
                  onClick={() => void actions.applyFix(d, 'one')}
                >
                  {state.fixing === d.code ? trans.__('Fixing…') : trans.__('Fix: %1', d.fix.message)}
                </button>
                {(props.counts.get(d.code) ?? 0) > 1 && (
                  <button
                    className="jp-mod-styled nb2pipe-fix-all-button"
                    disabled={state.fixing !== null}
                    title={trans.__('Fix every %1 finding of this notebook. Undo: Esc, then Z (command mode); Shift+Z redoes.', d.code)}
                    onClick={() => void actions.applyFix(d, 'all')}
                  >
                    {trans.__('Fix all %1 (%2)', d.code, props.counts.get(d.code) ?? 0)}
                  </button>
                )}
              </div>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Each step's palette index, from the outline (the same as its cells' chips). */
function coloursOf(outline: IStepOutline | null): Record<string, number> {
  return Object.fromEntries((outline?.steps ?? []).map(step => [step.name, step.colour]));
}

/** Select the first cell of `step` in the notebook (a click on its node). */
function selectStep(outline: IStepOutline, step: string, actions: IPanelActions): void {
  const first = outline.cells.find(place => place.step === step);
  if (first) {
    actions.selectCell(first.id, first.index + 1);
  }
}

/** The steps as tagged now, before a conversion: updated as the tags change. */
function StepsOutline(props: {
  outline: IStepOutline;
  actions: IPanelActions;
  trans: TranslationBundle;
}): JSX.Element {
  const { outline, actions, trans } = props;
  return (
    <div className="nb2pipe-outline" data-complete={outline.complete ? 'true' : 'false'}>
      <p>
        {trans._n('%1 step as tagged', '%1 steps as tagged', outline.steps.length)}
        {!outline.complete && ' — ' + trans.__('not convertible yet: the findings above say why')}
      </p>
      {outline.steps.length > 0 && (
        <Dag result={outline} colours={coloursOf(outline)} trans={trans}
             onSelect={step => selectStep(outline, step, actions)} />
      )}
    </div>
  );
}

function Conversion(props: {
  result: IConvertReply;
  /** The steps as tagged now (drawn instead of the converted ones: the DAG stays live). */
  outline: IStepOutline | null;
  runs: IRunsReply | null;
  actions: IPanelActions;
  trans: TranslationBundle;
}): JSX.Element {
  const { result, outline, runs, actions, trans } = props;
  const latest = runs?.runs[0];
  const states = latest
    ? Object.fromEntries(Object.entries(latest.steps).map(([name, step]) => [name, step.status]))
    : {};
  return (
    <div className="nb2pipe-conversion">
      <p>
        {result.files.length && !result.restored
          ? trans.__('Wrote %1/ — run it here, or with:', result.output)
          : trans.__('%1/ — run it here, or with:', result.output)}
      </p>
      <div className="nb2pipe-command-row">
        <pre className="nb2pipe-command">{result.command}</pre>
        <ToolbarButtonComponent
          className="nb2pipe-copy"
          icon={copyIcon}
          tooltip={trans.__('Copy the command')}
          onClick={() => Clipboard.copyToSystem(result.command)}
        />
      </div>
      {outline ? (
        <Dag result={outline} states={states} colours={coloursOf(outline)} trans={trans}
             onSelect={step => selectStep(outline, step, actions)} />
      ) : (
        <Dag result={result} states={states} trans={trans}
             colours={Object.fromEntries(result.steps.map((step, i) => [step.name, step.colour ?? i]))} />
      )}
      <button type="button" className="jp-mod-styled nb2pipe-open-view"
              onClick={() => actions.openPipeline(result.output)}>
        {trans.__('Open the pipeline view')}
      </button>
      {result.warnings.map((w, i) => (
        <p key={i} className="nb2pipe-warning">{w}</p>
      ))}
      {result.files.length > 0 && (
      <details>
        <summary>{trans._n('%1 file', '%1 files', result.files.length)}</summary>
        <ul className="nb2pipe-files">
          {result.files.map(f => (
            <li key={f}>
              <a
                href="#"
                className="nb2pipe-file"
                title={trans.__('Open %1', `${result.output}/${f}`)}
                onClick={event => {
                  event.preventDefault();
                  actions.openFile(`${result.output}/${f}`);
                }}
              >
                {f}
              </a>
            </li>
          ))}
        </ul>
      </details>
      )}
    </div>
  );
}

/** The pipeline's DAG as an SVG: one row per depth, the steps of a depth side by side, edges
 * as curves from a step's bottom to the next one's top (dashed: ordering only). With
 * `onSelect`, a node is a button. */
export function Dag(props: {
  result: Pick<IConvertReply, 'steps' | 'edges'>;
  states?: Record<string, string>;
  trans: TranslationBundle;
  selected?: string | null;
  onSelect?: (step: string) => void;
  /** Each step's palette index: the stripe on its node, the colour of its cells' chips. */
  colours?: Record<string, number>;
}): JSX.Element {
  const { onSelect, selected } = props;
  const colours = props.colours ?? {};
  const { result, trans } = props;
  const states = props.states ?? {};
  const depth = new Map<string, number>();
  for (const step of result.steps) {
    depth.set(step.name, Math.max(0, ...step.after.map(a => (depth.get(a) ?? 0) + 1)));
  }
  const rows = new Map<number, string[]>();
  for (const step of result.steps) {
    const d = depth.get(step.name) ?? 0;
    rows.set(d, [...(rows.get(d) ?? []), step.name]);
  }
  const width = 110;
  const height = 44;
  const position = new Map<string, { x: number; y: number }>();
  const columns = Math.max(...[...rows.values()].map(r => r.length), 1);
  rows.forEach((names, d) => {
    names.forEach((name, i) => {
      const offset = ((columns - names.length) * width) / 2;
      position.set(name, { x: offset + i * width + 5, y: d * height + 5 });
    });
  });
  return (
    <svg
      className="nb2pipe-dag"
      role="img"
      aria-label={trans.__('Pipeline steps and their dependencies')}
      width={columns * width + 60}
      height={rows.size * height + 10}
      viewBox={`0 0 ${columns * width + 60} ${rows.size * height + 10}`}
    >
      {result.edges.map((e, i) => {
        const a = position.get(e.source);
        const b = position.get(e.target);
        if (!a || !b) {
          return null;
        }
        const middle = (a.y + 24 + b.y) / 2;
        // an edge that passes a level leaves by the side and bows around the boxes between
        const skips = b.y - a.y > height && a.x === b.x;
        const bow = 30 + 12 * (i % 3);
        const d = skips
          ? `M${a.x + 100},${a.y + 12} C${a.x + 100 + bow},${a.y + 12} ${b.x + 100 + bow},${b.y + 12} ${b.x + 100},${b.y + 12}`
          : `M${a.x + 50},${a.y + 24} C${a.x + 50},${middle} ${b.x + 50},${middle} ${b.x + 50},${b.y}`;
        return (
          <path key={i} d={d}
                fill="none" className={`nb2pipe-edge nb2pipe-edge-${e.kind}`}
                data-edge={`${e.source}->${e.target}`} />
        );
      })}
      {result.steps.map(step => {
        const p = position.get(step.name)!;
        return (
          <g key={step.name} transform={`translate(${p.x},${p.y})`}
             className={`nb2pipe-node${states[step.name] ? ' nb2pipe-node-' + states[step.name] : ''}${selected === step.name ? ' nb2pipe-node-selected' : ''}`}
             data-step={step.name} data-status={states[step.name] ?? ''}
             data-colour={colours[step.name] ?? ''}
             {...(onSelect ? {
               role: 'button', tabIndex: 0, style: { cursor: 'pointer' },
               onClick: () => onSelect(step.name),
               onKeyDown: (event: React.KeyboardEvent) => {
                 if (event.key === 'Enter' || event.key === ' ') {
                   onSelect(step.name);
                 }
               }
             } : {})}>
            <title>{states[step.name] ? `${step.name}: ${states[step.name]}` : step.name}</title>
            <rect width={100} height={24} rx={4} />
            {colours[step.name] !== undefined && (
              <rect className="nb2pipe-node-colour" x={2} y={3} width={5} height={18} rx={2}
                    style={{ fill: stepColour(colours[step.name]), stroke: "none" }} />
            )}
            <text x={52} y={16} textAnchor="middle">{step.name}</text>
          </g>
        );
      })}
    </svg>
  );
}
