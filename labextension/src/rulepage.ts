/**
 * A rule's page in a JupyterLab main-area tab: the Markdown comes from the installed nb2pipe
 * through the server extension and is rendered by JupyterLab's own Markdown renderer, so it
 * works offline. One tab per rule: opening it again brings that tab forward.
 */

import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';
import { launchIcon, ToolbarButton } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { requestAPI } from './request';
import { IRulePage } from './tokens';

const open = new Map<string, MainAreaWidget>();

export async function openRulePage(
  app: JupyterFrontEnd,
  rendermime: IRenderMimeRegistry | null,
  code: string,
  trans: TranslationBundle
): Promise<MainAreaWidget> {
  const existing = open.get(code);
  if (existing && !existing.isDisposed) {
    app.shell.activateById(existing.id);
    return existing;
  }
  const page = await requestAPI<IRulePage>(`rules/${encodeURIComponent(code)}`);
  let content: Widget;
  if (rendermime) {
    const renderer = rendermime.createRenderer('text/markdown');
    await renderer.renderModel(
      new MimeModel({ data: { 'text/markdown': page.markdown }, trusted: false })
    );
    content = renderer;
  } else {
    content = new Widget();
    const pre = document.createElement('pre');
    pre.textContent = page.markdown;
    content.node.appendChild(pre);
  }
  content.addClass('nb2pipe-rule-page');
  const widget = new MainAreaWidget({ content });
  widget.id = `nb2pipe-rule-${page.code}`;
  widget.title.label = `${page.code} ${page.name}`;
  widget.title.caption = trans.__('nb2pipe rule %1 (on the web: %2)', page.code, page.url);
  widget.title.closable = true;
  widget.toolbar.addItem(
    'web',
    new ToolbarButton({
      icon: launchIcon,
      label: trans.__('Open on the web'),
      tooltip: page.url,
      className: 'nb2pipe-rule-web-link',
      onClick: () => window.open(page.url, '_blank', 'noopener')
    })
  );
  open.set(page.code, widget);
  widget.disposed.connect(() => open.delete(page.code));
  app.shell.add(widget, 'main');
  app.shell.activateById(widget.id);
  return widget;
}
