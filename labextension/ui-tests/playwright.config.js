/**
 * Galata drives a real JupyterLab (started below) in Debian's Chromium: Playwright cannot
 * download its own browsers here. CHROMIUM names the binary (default /usr/lib/chromium/chromium).
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const port = process.env.NB2PIPE_UI_PORT || '8899';

module.exports = {
  ...baseConfig,
  timeout: 120000,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    ...baseConfig.use,
    baseURL: `http://127.0.0.1:${port}`,
    video: 'off',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM || '/usr/lib/chromium/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync']
    }
  },
  webServer: {
    command: `jupyter lab --config jupyter_server_test_config.py --ServerApp.port=${port}`,
    url: `http://127.0.0.1:${port}/lab`,
    timeout: 120000,
    reuseExistingServer: false
  }
};
