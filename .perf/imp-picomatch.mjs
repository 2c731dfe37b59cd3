import * as x from 'picomatch'; globalThis.x=x;
