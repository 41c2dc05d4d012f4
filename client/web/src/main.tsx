import { createRoot } from 'react-dom/client';
import { App } from './app/App.js';

// The SDK names each mutation with crypto.randomUUID, which browsers offer only in secure
// contexts (https, or localhost); a board served over plain http elsewhere still needs it.
if (typeof crypto.randomUUID !== 'function') {
  Object.defineProperty(crypto, 'randomUUID', {
    value: () => {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      bytes[6] = (bytes[6]! & 0x0f) | 0x40;
      bytes[8] = (bytes[8]! & 0x3f) | 0x80;
      const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    },
  });
}

createRoot(document.getElementById('root')!).render(<App />);
