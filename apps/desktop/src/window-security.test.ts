import { EventEmitter } from 'node:events';
import { WEB_CONTENT_SECURITY_POLICY } from '@trainyard/contracts';
import { describe, expect, it } from 'vitest';
import { sessionCookieFor } from './session-cookie';
import { type GuardedContents, type GuardedSession, guardSession, guardWebContents, isSafeExternalUrl, secureWebPreferences } from './window-security';

const ORIGIN = 'http://127.0.0.1:43123';

/** Stands in for Electron's WebContents: an emitter whose events can be prevented, as Electron's are. */
class FakeContents extends EventEmitter implements GuardedContents {
  openHandler: ((details: { url: string }) => { action: 'deny' }) | undefined;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void {
    this.openHandler = handler;
  }
  /** Emits like Electron does and says whether a listener prevented the default. */
  attempt(event: string, url?: string): boolean {
    let prevented = false;
    this.emit(event, { preventDefault: () => (prevented = true) }, url);
    return prevented;
  }
}

describe('desktop window security (DESIGN.md §7)', () => {
  it('sets the web preferences explicitly', () => {
    expect(secureWebPreferences('/app/preload.cjs')).toMatchObject({
      preload: '/app/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  it('denies navigation away from the app origin, webviews and every new window', () => {
    const contents = new FakeContents();
    const opened: string[] = [];
    guardWebContents(contents, ORIGIN, (url) => opened.push(url));
    expect(contents.attempt('will-navigate', `${ORIGIN}/jobs/1`)).toBe(false);
    for (const url of ['https://evil.example/', 'http://127.0.0.1:43124/', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url']) {
      expect(contents.attempt('will-navigate', url)).toBe(true);
      expect(contents.attempt('will-redirect', url)).toBe(true);
    }
    expect(contents.attempt('will-attach-webview')).toBe(true);
    for (const url of ['https://docs.example/guide', 'http://plain.example/', 'file:///etc/passwd', `${ORIGIN}/jobs`, 'smb://share/x']) {
      expect(contents.openHandler?.({ url })).toEqual({ action: 'deny' });
    }
    // Only the https link went to the user's browser.
    expect(opened).toEqual(['https://docs.example/guide']);
  });

  it('opens only https links externally, never with credentials in them', () => {
    expect(isSafeExternalUrl('https://example.com/a?b=c')).toBe(true);
    expect(isSafeExternalUrl('https://user:pw@example.com/')).toBe(false);
    expect(isSafeExternalUrl('http://example.com/')).toBe(false);
    expect(isSafeExternalUrl('file:///C:/Windows')).toBe(false);
    expect(isSafeExternalUrl('')).toBe(false);
  });

  it("denies every permission request and check, and puts the strict CSP on the app's responses only", () => {
    let requestHandler: Parameters<GuardedSession['setPermissionRequestHandler']>[0] | undefined;
    let checkHandler: (() => boolean) | undefined;
    let headersListener: Parameters<GuardedSession['webRequest']['onHeadersReceived']>[0] | undefined;
    guardSession(
      {
        setPermissionRequestHandler: (handler) => (requestHandler = handler),
        setPermissionCheckHandler: (handler) => (checkHandler = handler),
        webRequest: { onHeadersReceived: (listener) => (headersListener = listener) },
      },
      ORIGIN,
    );
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
      let granted: boolean | undefined;
      requestHandler?.({}, permission, (answer) => (granted = answer));
      expect(granted).toBe(false);
    }
    expect(checkHandler?.()).toBe(false);
    const headersFor = (url: string) => {
      let result: Record<string, string[] | string> | undefined;
      headersListener?.({ url, responseHeaders: { 'Content-Type': ['text/html'] } }, (response) => (result = response.responseHeaders));
      return result;
    };
    expect(headersFor(`${ORIGIN}/`)).toEqual({ 'Content-Type': ['text/html'], 'Content-Security-Policy': [WEB_CONTENT_SECURITY_POLICY] });
    expect(headersFor('https://elsewhere.example/')).toEqual({ 'Content-Type': ['text/html'] });
    expect(WEB_CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(WEB_CONTENT_SECURITY_POLICY).not.toContain('unsafe');
  });

  it('signs the window in with an HttpOnly, SameSite=Strict cookie named for the server port', () => {
    expect(sessionCookieFor({ url: 'http://127.0.0.1:43123', port: 43123, token: 'tok' })).toEqual({
      url: 'http://127.0.0.1:43123',
      name: 'trainyard_session_43123',
      value: 'tok',
      httpOnly: true,
      secure: false,
      sameSite: 'strict',
      path: '/',
    });
  });
});
