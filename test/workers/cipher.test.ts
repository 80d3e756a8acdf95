import { runCipherSuite } from '../shared/cipher-suite.ts';

runCipherSuite('workerd');
