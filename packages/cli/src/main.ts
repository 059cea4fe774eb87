#!/usr/bin/env node
import { CLI_VERSION } from './version.js';

console.log(`cairn ${CLI_VERSION}`);
