// eslint's flat config for mscada's browser app: web/src runs in the
// browser as ES modules, web/test under node's test runner. Types are
// tsc's job (tsconfig.json, test/tsconfig.json); this catches the rest.
import js from '@eslint/js';
import globals from 'globals';

/** rules for every file: likely bugs and the house style */
const rules = {
    'no-unused-vars': ['error', {args: 'after-used', argsIgnorePattern: '^_',
                                 caughtErrors: 'none'}],
    'no-undef': 'error',
    eqeqeq: ['error', 'always', {null: 'ignore'}],
    'prefer-const': 'error',
    'no-var': 'error',
    'no-shadow': 'error',
    'no-implicit-globals': 'error',
    // unary + is the house way to read numbers from strings
    'no-implicit-coercion': ['error', {allow: ['!!', '+']}],
    'no-eval': 'error',
    'no-new-func': 'error',
    'no-throw-literal': 'error',
    'no-self-compare': 'error',
    'no-template-curly-in-string': 'error',
    'no-unmodified-loop-condition': 'error',
    'no-unreachable-loop': 'error',
    // closures may name a const declared later in the enclosing function
    'no-use-before-define': ['error', {functions: false, classes: true,
                                       variables: false}],
    'no-console': ['error', {allow: ['warn', 'error']}],
    'array-callback-return': 'error',
    'consistent-return': 'error',
    'default-case-last': 'error',
    'object-shorthand': 'error',
};

export default [
    {ignores: ['node_modules/']},
    js.configs.recommended,
    {
        files: ['src/**/*.js'],
        languageOptions: {
            ecmaVersion: 2022,
            sourceType: 'module',
            globals: {...globals.browser},
        },
        rules,
    },
    {
        files: ['test/**/*.js', 'eslint.config.js'],
        languageOptions: {
            ecmaVersion: 2022,
            sourceType: 'module',
            globals: {...globals.node},
        },
        rules,
    },
];
