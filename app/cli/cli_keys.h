/*
 * `websands keys`: creates, rotates and lists the token-signing keys
 * in KEYS_DIR (see common/keyring.h for their life cycle).
 */
#ifndef WEBSANDS_CLI_KEYS_H
#define WEBSANDS_CLI_KEYS_H

/*
 * Runs `websands keys VERB [options]`, with argv[0] the word "keys"
 * (as main() calls every subcommand).  Verbs:
 *   generate [--alg RS256|PS256|ES256|EdDSA]   add a key (default RS256)
 *   rotate [--alg ALG] [--grace SECONDS]       add a key and retire the
 *       others after SECONDS, by default ACCESS_TOKEN_TTL_S +
 *       JWT_LEEWAY_S; ALG defaults to the current signer's
 *   list                                       kid, alg, dates, state
 * Each takes --config FILE (an env file, as every WebSands program);
 * KEYS_DIR comes from the environment or that file.  Returns CLI_OK,
 * CLI_FAIL (the reason on stderr, including a KEYS_DIR that is unset
 * or not a directory) or CLI_USAGE (cli.h).
 */
int	 cli_keys(int argc, char **argv);

/*
 * `websands keys rotate-data [--config FILE]`: adds a data key to
 * DATA_KEYS_FILE and re-encrypts every value an older one sealed.
 * Returns an exit status (CLI_OK, CLI_FAIL, CLI_USAGE).
 */
int	 cli_keys_rotate_data(int argc, char **argv);

#endif
