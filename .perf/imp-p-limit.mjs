import * as x from 'p-limit'; globalThis.x=x;
