#!/usr/bin/env node
import { runCli } from './run-cli.js';

// A thin entry: all behaviour lives in runCli, which tests call in-process.
process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});
