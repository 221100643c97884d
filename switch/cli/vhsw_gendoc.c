/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhsw_gendoc.c - writes vhswctl's man page and bash completion from the
 * command table (ctl.h's CTL_COMMANDS, compiled into ctl_cmds[]), so that
 * neither can drift from the parser.
 *
 *   vhsw_gendoc man    vhswctl(8) in troff (man macros) on stdout
 *   vhsw_gendoc bash   the bash completion script for vhswctl on stdout
 *
 * Run at build time by meson (switch/cli/meson.build); not installed.
 * Nothing here names a command: every command, usage line, option and
 * help text comes from the table.  The completion's generic rules read
 * the table's metavariables: a "a|b" meta completes its words, a kind
 * argument the command's port kinds, FILE, PATH, SOCKET and DIR file
 * names, PORT (and NAME in the "port" commands other than "add", which
 * makes a new one) the names `vhswctl port list` prints.
 *
 * Single-threaded; exits 0, or 2 on a usage error.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* vhswctl's own options (vhswctl.c's take_global; they may stand anywhere
 * on the command line) and CONTRACT.md's exit statuses: not commands, so
 * not in the table. */
static const struct {
	const char *option, *meta, *help;
} global_opts[] = {
	{"--ctl", "PATH",
		"the management socket (default: $" CTL_ENV_SOCKET
		", else " CTL_DEFAULT_SOCKET ")"},
	{"--json", NULL,
		"print exactly one JSON document on stdout (may also follow "
		"the command and its arguments, as may --ctl)"},
	{"--help", NULL,
		"list the commands and exit (after command words: those "
		"commands only)"},
	{"--version", NULL, "print vhswctl's version and exit"},
};

static const struct {
	int code;
	const char *meaning;
} exit_codes[] = {
	{0, "success"},
	{1,
		"the daemon refused the command (the reason is on stderr, "
		"after \"vhswctl: \")"},
	{2, "usage error"},
	{3,
		"cannot reach the daemon (the message names the socket path "
		"tried)"},
};

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The command words of 'cmd' ("fdb/set/aging" -> "fdb set aging"). */
static const char *
cmd_words(const struct ctl_cmd *cmd, char *buf, size_t len)
{
	size_t k;

	snprintf(buf, len, "%s", cmd->method);
	for (k = 0; buf[k]; k++)
		if (buf[k] == '/')
			buf[k] = ' ';
	return buf;
}

/*
 * Troff text: backslashes escaped, '-' as \- (a minus, so that options
 * copy and paste), and a '.' or '\'' that would open a line made literal.
 */
static void
roff(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

/* A usage line: option names bold, metavariables italic. */
static void
roff_usage(FILE *f, const char *words, const char *usage)
{
	const char *p = usage;
	size_t n;

	fputs("\\fB", f);
	roff(f, words);
	fputs("\\fR", f);
	/* One line: "[--queues N]" -> [\fB\-\-queues\fR \fIN\fR] */
	while (*p) {
		char tok[256];

		n = strcspn(p, " ");
		snprintf(tok, sizeof(tok), "%.*s", (int)n, p);
		p += n + (p[n] == ' ');
		if (tok[0] == '[' && tok[1] == '-') {
			char *meta = NULL, *end;

			end = strchr(tok, ']');
			if (end != NULL && end[1] == '\0')
				*end = '\0';
			fputs(" [\\fB", f);
			roff(f, tok + 1);
			fputs("\\fR", f);
			if (end == NULL || end[1] != '\0') {
				/* "[--vlan" then "VID]" */
				n = strcspn(p, " ");
				snprintf(tok, sizeof(tok), "%.*s", (int)n, p);
				p += n + (p[n] == ' ');
				meta = tok;
				if (meta[strlen(meta) - 1] == ']')
					meta[strlen(meta) - 1] = '\0';
				fputs(" \\fI", f);
				roff(f, meta);
				fputs("\\fR", f);
			}
			fputs("]", f);
		} else if (tok[0] == '[') {
			tok[strlen(tok) - 1] = '\0';
			fputs(" [\\fI", f);
			roff(f, tok + 1);
			fputs("\\fR]", f);
		} else if (tok[0] >= 'a' && tok[0] <= 'z') { /* a kind */
			fputs(" \\fB", f);
			roff(f, tok);
			fputs("\\fR", f);
		} else {
			fputs(" \\fI", f);
			roff(f, tok);
			fputs("\\fR", f);
		}
	}
	fputs("\n", f);
}

static void
man_cmd(FILE *f, const struct ctl_cmd *cmd)
{
	const struct ctl_param *p;
	char words[64], line[1024];
	const char *kind;
	int i;

	cmd_words(cmd, words, sizeof(words));
	fputs(".TP\n", f);
	for (i = 0; (kind = ctl_cmd_kind(cmd, i)) != NULL; i++) {
		if (i > 0)
			fputs(".TQ\n", f);
		roff_usage(f, words, ctl_usage(cmd, kind, line, sizeof(line)));
	}
	if (i == 0)
		roff_usage(f, words, ctl_usage(cmd, NULL, line, sizeof(line)));
	roff(f, cmd->help);
	fputs(".\n", f);
	if (cmd->params[0].key == NULL)
		return;
	fputs(".RS\n", f);
	for (p = cmd->params; p->key != NULL; p++) {
		fputs(".TP\n", f);
		if (p->option != NULL) {
			fputs("\\fB", f);
			roff(f, p->option);
			fputs("\\fR", f);
			if (p->meta != NULL) {
				fputs(" \\fI", f);
				roff(f, p->meta);
				fputs("\\fR", f);
			}
		} else {
			fputs("\\fI", f);
			roff(f, p->meta);
			fputs("\\fR", f);
		}
		fputs("\n", f);
		roff(f, p->help);
		if (p->kind != NULL) {
			fputs(" (", f);
			roff(f, p->kind);
			fputs(" ports)", f);
		}
		fputs("\n", f);
	}
	fputs(".RE\n", f);
}

static void
gen_man(FILE *f)
{
	size_t i;
	int c;

	fprintf(f,
		".\\\" vhswctl(8), generated by vhsw_gendoc from the command "
		"table (include/ctl.h).  Do not edit.\n"
		".TH VHSWCTL 8 \"\" \"vhsw %s\" \"System Administration\"\n",
		VHSW_VERSION);
	fputs(".SH NAME\n"
	      "vhswctl \\- manage the vhsw switch daemon\n"
	      ".SH SYNOPSIS\n"
	      ".B vhswctl\n"
	      "[\\fB\\-\\-ctl\\fR \\fIPATH\\fR] [\\fB\\-\\-json\\fR] "
	      "\\fICOMMAND\\fR [\\fIARGS\\fR]\n"
	      ".SH DESCRIPTION\n"
	      ".B vhswctl\n"
	      "sends one command to\n"
	      ".BR vhswd (8)\n"
	      "over its management socket (JSON\\-RPC 2.0, one request per "
	      "line; the method is the command words joined by '/') and "
	      "prints the reply: aligned text, or with\n"
	      ".B \\-\\-json\n"
	      "exactly one JSON document.\n"
	      ".SH OPTIONS\n",
		f);
	for (i = 0; i < N_ELEM(global_opts); i++) {
		fputs(".TP\n\\fB", f);
		roff(f, global_opts[i].option);
		fputs("\\fR", f);
		if (global_opts[i].meta != NULL) {
			fputs(" \\fI", f);
			roff(f, global_opts[i].meta);
			fputs("\\fR", f);
		}
		fputs("\n", f);
		roff(f, global_opts[i].help);
		fputs("\n", f);
	}
	fputs(".SH COMMANDS\n"
	      "Options of a command may come in any order after its words; "
	      "an option's value may also be given as "
	      "\\fB\\-\\-option\\fR=\\fIVALUE\\fR.\n",
		f);
	for (c = 0; c < CTL_CMD_COUNT; c++)
		man_cmd(f, &ctl_cmds[c]);
	fputs(".SH EXIT STATUS\n", f);
	for (i = 0; i < N_ELEM(exit_codes); i++) {
		fprintf(f, ".TP\n.B %d\n", exit_codes[i].code);
		roff(f, exit_codes[i].meaning);
		fputs("\n", f);
	}
	fputs(".SH ENVIRONMENT\n"
	      ".TP\n"
	      ".B " CTL_ENV_SOCKET "\n"
	      "the management socket when \\fB\\-\\-ctl\\fR is not given "
	      "(vhswd reads it too).\n"
	      ".SH FILES\n"
	      ".TP\n"
	      ".I ",
		f);
	roff(f, CTL_DEFAULT_SOCKET);
	fputs("\n"
	      "the management socket of vhswd by default.\n"
	      ".TP\n"
	      ".I /var/lib/vhsw/state.json\n"
	      "vhswd's running configuration, kept after every change; "
	      "\\fBconfig save\\fR writes the same format.\n"
	      ".SH SEE ALSO\n"
	      ".BR vhswd (8),\n"
	      ".BR vhsw\\-cni (8)\n",
		f);
}

/*
 * The completion script.  The table goes into _vhswctl_spec, a case on
 * the method that prints one line per parameter:
 *   p KEY META KIND   a positional argument ('k' instead of 'p': the one
 *                     that selects the port kind)
 *   o OPTION META KIND / f OPTION - KIND   an option with a value / a flag
 * ('-' for an empty field; metas and kinds hold no spaces).  The shell
 * code below it is the same for every command.
 */
static void
gen_bash(FILE *f)
{
	const struct ctl_param *p;
	const char *kind;
	size_t i;
	int c, k;

	fputs("# bash completion for vhswctl(8), generated by vhsw_gendoc "
	      "from the command\n"
	      "# table (include/ctl.h).  Do not edit.\n"
	      "# shellcheck shell=bash\n\n",
		f);
	fputs("_vhswctl_methods='", f);
	for (c = 0; c < CTL_CMD_COUNT; c++)
		fprintf(f, "%s%s", c ? " " : "", ctl_cmds[c].method);
	fputs("'\n_vhswctl_globals='", f);
	for (i = 0; i < N_ELEM(global_opts); i++)
		fprintf(f, "%s%s", i ? " " : "", global_opts[i].option);
	fputs("'\n\n# _vhswctl_spec METHOD: its parameters, one a line.\n"
	      "_vhswctl_spec() {\n\tcase $1 in\n",
		f);
	for (c = 0; c < CTL_CMD_COUNT; c++) {
		const struct ctl_cmd *cmd = &ctl_cmds[c];

		fprintf(f, "\t%s)\n", cmd->method);
		for (p = cmd->params; p->key != NULL; p++) {
			if (p->selects_kind) {
				fprintf(f, "\t\techo 'k %s ", p->key);
				for (k = 0; (kind = ctl_cmd_kind(cmd, k)); k++)
					fprintf(f, "%s%s", k ? "," : "", kind);
				fputs(" -'\n", f);
				continue;
			}
			fprintf(f, "\t\techo '%s %s %s %s'\n",
				p->option == NULL         ? "p"
					: p->meta != NULL ? "o"
							  : "f",
				p->option ? p->option : p->key,
				p->meta ? p->meta : "-",
				p->kind ? p->kind : "-");
		}
		fputs("\t\t;;\n", f);
	}
	fputs("\tesac\n}\n\n", f);
	fputs("# _vhswctl_ports: the port names `vhswctl port list` prints (a "
	      "daemon\n"
	      "# that does not answer within 2 s completes nothing).\n"
	      "_vhswctl_ports() {\n"
	      "\ttimeout 2 \"${_vhswctl_cmd[@]}\" port list 2>/dev/null |\n"
	      "\t\twhile read -r name _; do\n"
	      "\t\t\t[[ $name == NAME ]] || printf '%s\\n' \"$name\"\n"
	      "\t\tdone\n"
	      "}\n\n"
	      "# _vhswctl_value METHOD META: completes a value of this "
	      "metavariable.\n"
	      "_vhswctl_value() {\n"
	      "\tlocal method=$1 meta=$2 cur=$3\n"
	      "\tcase $meta in\n"
	      "\t*'|'*)\n"
	      "\t\tCOMPREPLY=($(compgen -W \"${meta//|/ }\" -- \"$cur\")) "
	      ";;\n"
	      "\t*FILE* | *PATH* | *SOCKET* | *DIR*)\n"
	      "\t\tcompopt -o filenames 2>/dev/null\n"
	      "\t\tCOMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
	      "\tPORT*)\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$(_vhswctl_ports)\" -- "
	      "\"$cur\")) ;;\n"
	      "\tNAME)\n"
	      "\t\t# An existing port, except where a command makes one.\n"
	      "\t\tif [[ $method == port/* && $method != */add ]]; then\n"
	      "\t\t\tCOMPREPLY=($(compgen -W \"$(_vhswctl_ports)\" -- "
	      "\"$cur\"))\n"
	      "\t\tfi ;;\n"
	      "\tesac\n"
	      "}\n\n",
		f);
	fputs("_vhswctl() {\n"
	      "\tlocal cur prev words cword\n"
	      "\tif declare -F _get_comp_words_by_ref > /dev/null; then\n"
	      "\t\t_get_comp_words_by_ref -n =: cur prev words cword\n"
	      "\telse\n"
	      "\t\twords=(\"${COMP_WORDS[@]}\") cword=$COMP_CWORD\n"
	      "\t\tcur=${COMP_WORDS[COMP_CWORD]} "
	      "prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
	      "\tfi\n"
	      "\tCOMPREPLY=()\n"
	      "\tlocal -a args=() _vhswctl_cmd=(\"${words[0]}\")\n"
	      "\tlocal i w\n"
	      "\t# vhswctl's own options, wherever they are.\n"
	      "\tfor ((i = 1; i < cword; i++)); do\n"
	      "\t\tw=${words[i]}\n"
	      "\t\tcase $w in\n"
	      "\t\t--ctl) ((i + 1 < cword)) && "
	      "_vhswctl_cmd+=(--ctl \"${words[i + 1]}\"); ((i++)) ;;\n"
	      "\t\t--ctl=*) _vhswctl_cmd+=(\"$w\") ;;\n"
	      "\t\t--json | --help | --version) ;;\n"
	      "\t\t*) args+=(\"$w\") ;;\n"
	      "\t\tesac\n"
	      "\tdone\n"
	      "\tif [[ $prev == --ctl ]]; then\n"
	      "\t\t_vhswctl_value '' PATH \"$cur\"\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\t# The longest method whose words start args; the command "
	      "words that\n"
	      "\t# could come next.\n"
	      "\tlocal m method= n best=0 next=() mw\n"
	      "\tfor m in $_vhswctl_methods; do\n"
	      "\t\tIFS=/ read -ra mw <<< \"$m\"\n"
	      "\t\tn=${#mw[@]}\n"
	      "\t\tif ((n > ${#args[@]})); then\n"
	      "\t\t\t[[ \"${mw[*]:0:${#args[@]}}\" == \"${args[*]}\" &&\n"
	      "\t\t\t\t\" ${next[*]} \" != *\" ${mw[${#args[@]}]} \"* ]] &&\n"
	      "\t\t\t\tnext+=(\"${mw[${#args[@]}]}\")\n"
	      "\t\telif [[ \"${args[*]:0:n}\" == \"${mw[*]}\" ]] && "
	      "((n > best)); then\n"
	      "\t\t\tmethod=$m best=$n\n"
	      "\t\tfi\n"
	      "\tdone\n"
	      "\tif [[ -z $method ]]; then\n"
	      "\t\tif [[ $cur == -* ]]; then\n"
	      "\t\t\tCOMPREPLY=($(compgen -W \"$_vhswctl_globals\" -- "
	      "\"$cur\"))\n"
	      "\t\telse\n"
	      "\t\t\tCOMPREPLY=($(compgen -W \"${next[*]}\" -- \"$cur\"))\n"
	      "\t\tfi\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\t# The method's arguments so far: positionals, the kind, an "
	      "option\n"
	      "\t# waiting for its value.\n"
	      "\tlocal -a spec=() pos=()\n"
	      "\tlocal t o meta kind sel= want= line\n"
	      "\twhile read -r line; do spec+=(\"$line\"); done < "
	      "<(_vhswctl_spec \"$method\")\n"
	      "\tfor line in \"${spec[@]}\"; do\n"
	      "\t\tread -r t o meta kind <<< \"$line\"\n"
	      "\t\t[[ $t == [pk] ]] && pos+=(\"$line\")\n"
	      "\tdone\n"
	      "\tlocal npos=0\n"
	      "\tfor ((i = best; i < ${#args[@]}; i++)); do\n"
	      "\t\tw=${args[i]}\n"
	      "\t\twant=\n"
	      "\t\tif [[ $w == --* ]]; then\n"
	      "\t\t\tfor line in \"${spec[@]}\"; do\n"
	      "\t\t\t\tread -r t o meta kind <<< \"$line\"\n"
	      "\t\t\t\t[[ $t == o && $w == \"$o\" ]] && want=$meta\n"
	      "\t\t\tdone\n"
	      "\t\t\tif [[ -n $want ]]; then\n"
	      "\t\t\t\t((i + 1 < ${#args[@]})) || break\n"
	      "\t\t\t\t((i++)); want=\n"
	      "\t\t\tfi\n"
	      "\t\t\tcontinue\n"
	      "\t\tfi\n"
	      "\t\tif ((npos < ${#pos[@]})); then\n"
	      "\t\t\tread -r t o meta kind <<< \"${pos[npos]}\"\n"
	      "\t\t\t[[ $t == k ]] && sel=$w\n"
	      "\t\tfi\n"
	      "\t\t((npos++))\n"
	      "\tdone\n"
	      "\tif [[ -n $want ]]; then\n"
	      "\t\t_vhswctl_value \"$method\" \"$want\" \"$cur\"\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\tif [[ $cur == -* ]]; then\n"
	      "\t\tlocal opts=()\n"
	      "\t\tfor line in \"${spec[@]}\"; do\n"
	      "\t\t\tread -r t o meta kind <<< \"$line\"\n"
	      "\t\t\t[[ $t == [of] ]] || continue\n"
	      "\t\t\t[[ $kind == - || -z $sel || $kind == \"$sel\" ]] && "
	      "opts+=(\"$o\")\n"
	      "\t\tdone\n"
	      "\t\tCOMPREPLY=($(compgen -W \"${opts[*]} $_vhswctl_globals\" "
	      "-- \"$cur\"))\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\t# The next positional argument (of the selected kind).\n"
	      "\twhile ((npos < ${#pos[@]})); do\n"
	      "\t\tread -r t o meta kind <<< \"${pos[npos]}\"\n"
	      "\t\tif [[ $t == k ]]; then\n"
	      "\t\t\tCOMPREPLY=($(compgen -W \"${meta//,/ }\" -- "
	      "\"$cur\"))\n"
	      "\t\t\treturn\n"
	      "\t\tfi\n"
	      "\t\tif [[ $kind == - || $kind == \"$sel\" ]]; then\n"
	      "\t\t\t_vhswctl_value \"$method\" \"$meta\" \"$cur\"\n"
	      "\t\t\treturn\n"
	      "\t\tfi\n"
	      "\t\t((npos++))\n"
	      "\tdone\n"
	      "\tif [[ ${#next[@]} -gt 0 ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"${next[*]}\" -- \"$cur\"))\n"
	      "\tfi\n"
	      "} &&\n"
	      "\tcomplete -F _vhswctl vhswctl\n",
		f);
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "man") == 0) {
		gen_man(stdout);
	} else if (argc == 2 && strcmp(argv[1], "bash") == 0) {
		gen_bash(stdout);
	} else {
		fprintf(stderr, "usage: vhsw_gendoc man|bash\n");
		return 2;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
