//! `coexist route | matrix | presence`: the rules alone, no server.
