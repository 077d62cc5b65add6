import { contextBridge } from 'electron';

// Sandboxed preload: the page gets one fact and no capability. Everything else goes
// through the same HTTP API a browser uses.
contextBridge.exposeInMainWorld('trainyardDesktop', { isDesktop: true });
