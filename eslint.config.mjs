// Lint configuration. The import-direction rules keep the architecture of DESIGN.md §2 visible:
// core imports none of our folders and nothing that does I/O; chaincode imports only core;
// documents (court-facing documents) imports only core; verifier-cli imports core and documents;
// gateway may import core, chaincode and documents; web (the browser page) imports core and the
// pure vocabulary of documents (labels), and nothing that does I/O.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = [
  'fs',
  'node:fs',
  'fs/promises',
  'node:fs/promises',
  'net',
  'node:net',
  'http',
  'node:http',
  'https',
  'node:https',
  'child_process',
  'node:child_process',
  'worker_threads',
  'node:worker_threads',
  'dgram',
  'node:dgram',
  'level',
  'classic-level',
  'fastify',
];

const layer = (name, forbidden) => ({
  group: forbidden,
  message: `${name} must not import this (see DESIGN.md §2, direction of imports)`,
});

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'dist-bench/',
      'node_modules/',
      'data/',
      'coverage/',
      'test-artifacts/',
      'bin/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.map((name) => ({ name, message: 'core does no I/O (DESIGN.md §2)' })),
          patterns: [
            layer('core', [
              '**/chaincode/**',
              '**/documents/**',
              '**/gateway/**',
              '**/verifier-cli/**',
              '**/web/**',
              '../chaincode*',
              '../documents*',
              '../gateway*',
              '../verifier-cli*',
              '../web*',
            ]),
          ],
        },
      ],
    },
  },
  {
    files: ['chaincode/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            layer('chaincode', [
              '**/gateway/**',
              '**/verifier-cli/**',
              '../gateway*',
              '../verifier-cli*',
            ]),
          ],
        },
      ],
    },
  },
  {
    files: ['documents/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            layer('documents', [
              '**/chaincode/**',
              '**/gateway/**',
              '**/verifier-cli/**',
              '**/web/**',
              '../chaincode*',
              '../gateway*',
              '../verifier-cli*',
              '../web*',
            ]),
          ],
        },
      ],
    },
  },
  {
    files: ['web/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.map((name) => ({ name, message: 'web runs in the browser' })),
          patterns: [
            layer('web', [
              '**/chaincode/**',
              '**/gateway/**',
              '**/verifier-cli/**',
              '../chaincode*',
              '../gateway*',
              '../verifier-cli*',
              '../documents/*',
              '!../documents/labels',
            ]),
          ],
        },
      ],
    },
  },
  {
    files: ['verifier-cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            layer('verifier-cli', [
              '**/gateway/**',
              '**/chaincode/**',
              '**/web/**',
              '../gateway*',
              '../chaincode*',
              '../web*',
            ]),
          ],
        },
      ],
    },
  },
  {
    files: ['gateway/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            layer('gateway', ['**/verifier-cli/**', '../verifier-cli*', '**/web/**', '../web*']),
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
