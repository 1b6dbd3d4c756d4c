/*
 * `websands keys`: creates, rotates and lists the token-signing keys
 * in KEYS_DIR (see common/keyring.h for their life cycle).
 */
#ifndef WEBSANDS_CLI_KEYS_H
#define WEBSANDS_CLI_KEYS_H

/*
 * Runs `websands keys VERB [options]`.  argv[0] may be the word "keys"
 * itself (main passing its own argc - 1, argv + 1) or already the verb.
 * Verbs:
 *   generate [--alg RS256|PS256|ES256|EdDSA]   add a key (default RS256)
 *   rotate [--alg ALG] [--grace SECONDS]       add a key, retire the
 *       others after SECONDS (default the access-token lifetime plus
 *       the leeway, 960); ALG defaults to the current signer's
 *   list                                       kid, alg, dates, state
 * Each takes --config FILE (an env file, as every WebSands program).
 * KEYS_DIR comes from the environment or that file.  Returns the exit
 * status: 0, 1 when the operation failed, 64 for a usage error, 78
 * when KEYS_DIR is unset or not a directory.
 */
int	 cli_keys(int argc, char **argv);

#endif
