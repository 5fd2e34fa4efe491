/**
 * The server pipeline's figures for `pnpm bench` (scripts/run-bench.mjs collects the FIGURE
 * lines): valid knocks per second through processKnock, and valid knocks accepted under a
 * junk flood on loopback UDP. See ../bench-pipeline.ts.
 */
import { printPipelineFigures } from '../bench-pipeline.js';

await printPipelineFigures();
