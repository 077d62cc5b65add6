import { WEB_CONTENT_SECURITY_POLICY } from '@trainyard/contracts';

// DESIGN.md §7's security baseline, as plain functions over the few Electron methods they
// use, so every rule is unit-tested without an Electron binary.

/** Web preferences for every window: the page is a web page, nothing more. */
export const secureWebPreferences = (preload: string) =>
  ({
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  }) as const;

export const isAppUrl = (url: string, appOrigin: string): boolean => {
  try {
    return new URL(url).origin === appOrigin;
  } catch {
    return false;
  }
};

/** Only https links leave the app, to the user's browser; no credentials, no other schemes (file:, javascript:, smb:). */
export const isSafeExternalUrl = (url: string): boolean => {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' && parsed.username === '' && parsed.password === '';
  } catch {
    return false;
  }
};

interface PreventableEvent {
  preventDefault(): void;
}

/** The subset of Electron's WebContents the guards need. */
export interface GuardedContents {
  on(event: 'will-navigate' | 'will-redirect', listener: (event: PreventableEvent, url: string) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: PreventableEvent) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

/** The subset of Electron's Session the guards need. */
export interface GuardedSession {
  setPermissionRequestHandler(handler: (contents: unknown, permission: string, callback: (granted: boolean) => void) => void): void;
  setPermissionCheckHandler(handler: () => boolean): void;
  webRequest: {
    onHeadersReceived(
      listener: (
        details: { url: string; responseHeaders?: Record<string, string[] | string> },
        callback: (response: { responseHeaders?: Record<string, string[] | string> }) => void,
      ) => void,
    ): void;
  };
}

/** No navigation away from the app, no new windows (https links open in the browser), no webviews. */
export const guardWebContents = (contents: GuardedContents, appOrigin: string, openExternal: (url: string) => void): void => {
  const stayInApp = (event: PreventableEvent, url: string) => {
    if (!isAppUrl(url, appOrigin)) event.preventDefault();
  };
  contents.on('will-navigate', stayInApp);
  contents.on('will-redirect', stayInApp);
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (isSafeExternalUrl(url)) openExternal(url);
    return { action: 'deny' };
  });
};

/** Every permission (camera, notifications, geolocation…) denied; the CSP on every response of the app. */
export const guardSession = (session: GuardedSession, appOrigin: string): void => {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.webRequest.onHeadersReceived((details, callback) => {
    if (!isAppUrl(details.url, appOrigin)) return callback({ responseHeaders: details.responseHeaders ?? {} });
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [WEB_CONTENT_SECURITY_POLICY] } });
  });
};
