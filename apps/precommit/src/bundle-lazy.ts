/**
 * Entry of the bundle's second file (hook-engine.cjs): everything the hook needs only once a staged
 * file looks like a model. Kept out of hook.cjs so a commit without models parses a small script.
 */
export { embeddedEngine } from './bundle-engine.js';
export { checkPolicy, judgeStaged } from './judge.js';
