import { defineConfig } from 'vite';

/**
 * The service worker (sw/sw.ts) as its own build: one self-contained classic script at
 * dist/sw.js (no shared chunks, which would make it a module worker), next to the app's
 * index.html so Django serves it at the site root with scope / (config/spa.py).
 */
export default defineConfig({
  publicDir: false,
  build: {
    outDir: 'dist',
    emptyOutDir: false, // the app's build (vite.config.ts) is already there
    lib: { entry: 'sw/sw.ts', formats: ['iife'], name: 'chatServiceWorker', fileName: () => 'sw.js' },
  },
});
