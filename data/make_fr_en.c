// make_fr_en.c: writes the toy French→English corpus data/fr-en/{train,valid,test}.tsv.
//
// A small hand-written grammar generates short sentence pairs whose word order differs
// in ways an attention heatmap shows: the adjective after the noun ("la voiture rouge"
// -> "the red car"), `ne … pas` around the verb ("je ne mange pas" -> "i do not eat"),
// articles English adds ("je suis étudiant" -> "i am a student") or drops ("j'aime le
// chocolat" -> "i like chocolate"), adverbs that move ("je bois souvent du café" ->
// "i often drink coffee"), idioms ("j'ai faim" -> "i am hungry").
//
// Every French sentence has exactly ONE English rendering: the generator keeps a table
// of the French sentences it has made and stops with an error if the same French ever
// comes with a different English. Pairs are unique by their French side, and the three
// files are cut from one stream of unique pairs, so no test sentence is in train.
// The output depends only on the seed: same seed, same bytes.
//
// With --written, each side is written as a sentence: a capital first letter, English
// "I" capitalised, a final "." (data/sample/, a small corpus for `train --train` that keeps
// case and punctuation, made this way).
//
//   build/make_fr_en [--seed N] [--train N] [--valid N] [--test N] [--out DIR] [--written]
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "rng.h"

// ---------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------

// Noun classes: which verbs, adjectives and prepositions a noun can go with.
enum {
    PERSON = 1 << 0,     // can be "he"/"she": subject of most verbs
    ANIMAL = 1 << 1,
    FOOD = 1 << 2,       // countable food: une pomme
    MASS = 1 << 3,       // uncountable: du pain, de l'eau (never plural)
    DRINK = 1 << 4,
    VEHICLE = 1 << 5,
    READ = 1 << 6,       // can be read
    WRITE = 1 << 7,      // can be written
    OBJ = 1 << 8,        // a thing one can have, buy, find
    VIEW = 1 << 9,       // can be watched: un film
    KIN = 1 << 10,       // "j'ai un frère": family and friends one can have
    PLACE = 1 << 11,     // "dans le jardin": a place one can be in
    SURFACE = 1 << 12,   // "sur la table", "sous la chaise"
    CONTAINER = 1 << 13, // "dans le sac": things (not people) can be in it
    TRANSPORT = 1 << 14, // "je prends le train"
    HOME = 1 << 15,      // "j'habite dans une maison"
    FAMILY = 1 << 16,    // "j'aime ma mère" -> "i love my mother"
    NO_POSS = 1 << 17,   // never with mon/ma/mes ("mon homme" is not "my man")
};

typedef struct {
    const char *fr_sg, *fr_pl;  // fr_pl NULL: a mass noun, never plural
    char gender;                // 'm' or 'f'
    const char *en_sg, *en_pl;
    unsigned cls;
} Noun;

static const Noun NOUNS[] = {
    // people
    {"homme", "hommes", 'm', "man", "men", PERSON | NO_POSS},
    {"femme", "femmes", 'f', "woman", "women", PERSON | FAMILY},
    {"garçon", "garçons", 'm', "boy", "boys", PERSON | NO_POSS},
    {"fille", "filles", 'f', "girl", "girls", PERSON | FAMILY},
    {"enfant", "enfants", 'm', "child", "children", PERSON | KIN | FAMILY},
    {"ami", "amis", 'm', "friend", "friends", PERSON | KIN | FAMILY},
    {"amie", "amies", 'f', "friend", "friends", PERSON | KIN | FAMILY},
    {"frère", "frères", 'm', "brother", "brothers", PERSON | KIN | FAMILY},
    {"sœur", "sœurs", 'f', "sister", "sisters", PERSON | KIN | FAMILY},
    {"mère", "mères", 'f', "mother", "mothers", PERSON | FAMILY},
    {"père", "pères", 'm', "father", "fathers", PERSON | FAMILY},
    {"voisin", "voisins", 'm', "neighbor", "neighbors", PERSON},
    {"voisine", "voisines", 'f', "neighbor", "neighbors", PERSON},
    {"professeur", "professeurs", 'm', "teacher", "teachers", PERSON},
    // animals
    {"chat", "chats", 'm', "cat", "cats", ANIMAL},
    {"chien", "chiens", 'm', "dog", "dogs", ANIMAL},
    {"oiseau", "oiseaux", 'm', "bird", "birds", ANIMAL},
    {"cheval", "chevaux", 'm', "horse", "horses", ANIMAL},
    {"vache", "vaches", 'f', "cow", "cows", ANIMAL},
    {"souris", "souris", 'f', "mouse", "mice", ANIMAL},
    {"lapin", "lapins", 'm', "rabbit", "rabbits", ANIMAL},
    {"canard", "canards", 'm', "duck", "ducks", ANIMAL},
    // countable food
    {"pomme", "pommes", 'f', "apple", "apples", FOOD},
    {"orange", "oranges", 'f', "orange", "oranges", FOOD},
    {"œuf", "œufs", 'm', "egg", "eggs", FOOD},
    {"gâteau", "gâteaux", 'm', "cake", "cakes", FOOD},
    {"banane", "bananes", 'f', "banana", "bananas", FOOD},
    {"sandwich", "sandwichs", 'm', "sandwich", "sandwiches", FOOD},
    {"tomate", "tomates", 'f', "tomato", "tomatoes", FOOD},
    {"carotte", "carottes", 'f', "carrot", "carrots", FOOD},
    {"croissant", "croissants", 'm', "croissant", "croissants", FOOD},
    // uncountable food and drink
    {"pain", NULL, 'm', "bread", NULL, MASS | FOOD},
    {"fromage", NULL, 'm', "cheese", NULL, MASS | FOOD},
    {"riz", NULL, 'm', "rice", NULL, MASS | FOOD},
    {"soupe", NULL, 'f', "soup", NULL, MASS | FOOD},
    {"viande", NULL, 'f', "meat", NULL, MASS | FOOD},
    {"chocolat", NULL, 'm', "chocolate", NULL, MASS | FOOD},
    {"salade", NULL, 'f', "salad", NULL, MASS | FOOD},
    {"poisson", NULL, 'm', "fish", NULL, MASS | FOOD},
    {"eau", NULL, 'f', "water", NULL, MASS | DRINK},
    {"lait", NULL, 'm', "milk", NULL, MASS | DRINK},
    {"café", NULL, 'm', "coffee", NULL, MASS | DRINK},
    {"thé", NULL, 'm', "tea", NULL, MASS | DRINK},
    {"vin", NULL, 'm', "wine", NULL, MASS | DRINK},
    {"jus d'orange", NULL, 'm', "orange juice", NULL, MASS | DRINK},
    {"jus de pomme", NULL, 'm', "apple juice", NULL, MASS | DRINK},
    // vehicles
    {"voiture", "voitures", 'f', "car", "cars", VEHICLE | OBJ},
    {"vélo", "vélos", 'm', "bike", "bikes", VEHICLE | OBJ},
    {"bus", "bus", 'm', "bus", "buses", VEHICLE | TRANSPORT},
    {"train", "trains", 'm', "train", "trains", VEHICLE | TRANSPORT},
    {"bateau", "bateaux", 'm', "boat", "boats", VEHICLE | OBJ | TRANSPORT},
    {"avion", "avions", 'm', "plane", "planes", VEHICLE | TRANSPORT},
    {"taxi", "taxis", 'm', "taxi", "taxis", VEHICLE | TRANSPORT},
    // things to read and write
    {"livre", "livres", 'm', "book", "books", READ | WRITE | OBJ},
    {"journal", "journaux", 'm', "newspaper", "newspapers", READ | OBJ},
    {"lettre", "lettres", 'f', "letter", "letters", READ | WRITE | OBJ},
    {"magazine", "magazines", 'm', "magazine", "magazines", READ | OBJ},
    {"poème", "poèmes", 'm', "poem", "poems", READ | WRITE},
    {"message", "messages", 'm', "message", "messages", READ | WRITE},
    // objects
    {"clé", "clés", 'f', "key", "keys", OBJ},
    {"table", "tables", 'f', "table", "tables", OBJ | SURFACE},
    {"chaise", "chaises", 'f', "chair", "chairs", OBJ | SURFACE},
    {"lit", "lits", 'm', "bed", "beds", OBJ | SURFACE},
    {"sac", "sacs", 'm', "bag", "bags", OBJ | CONTAINER},
    {"boîte", "boîtes", 'f', "box", "boxes", OBJ | CONTAINER},
    {"téléphone", "téléphones", 'm', "phone", "phones", OBJ},
    {"stylo", "stylos", 'm', "pen", "pens", OBJ},
    {"chapeau", "chapeaux", 'm', "hat", "hats", OBJ},
    {"chemise", "chemises", 'f', "shirt", "shirts", OBJ},
    {"robe", "robes", 'f', "dress", "dresses", OBJ},
    {"lampe", "lampes", 'f', "lamp", "lamps", OBJ},
    {"fleur", "fleurs", 'f', "flower", "flowers", OBJ},
    {"ordinateur", "ordinateurs", 'm', "computer", "computers", OBJ},
    {"parapluie", "parapluies", 'm', "umbrella", "umbrellas", OBJ},
    // things to watch
    {"film", "films", 'm', "movie", "movies", VIEW},
    {"photo", "photos", 'f', "photo", "photos", VIEW | OBJ},
    {"tableau", "tableaux", 'm', "painting", "paintings", VIEW | OBJ},
    // places
    {"maison", "maisons", 'f', "house", "houses", PLACE | HOME},
    {"appartement", "appartements", 'm', "apartment", "apartments", PLACE | HOME},
    {"jardin", "jardins", 'm', "garden", "gardens", PLACE},
    {"cuisine", "cuisines", 'f', "kitchen", "kitchens", PLACE},
    {"chambre", "chambres", 'f', "bedroom", "bedrooms", PLACE},
    {"ville", "villes", 'f', "city", "cities", PLACE | HOME},
    {"village", "villages", 'm', "village", "villages", PLACE | HOME},
    {"forêt", "forêts", 'f', "forest", "forests", PLACE},
};
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

// After a possessive these nouns change meaning: "ma femme" is "my wife", not "my woman".
static const char *POSS_MEANING[][3] = {{"femme", "wife", "wives"}, {"fille", "daughter", "daughters"}};

// Adjectives. m_sg_vowel is the masculine singular used before a vowel ("un vieil
// homme", "un bel oiseau"); NULL means the normal form. attr: classes it may describe
// inside a noun phrase; pred: classes it may describe after "être".
typedef struct {
    const char *m_sg, *f_sg, *m_pl, *f_pl, *m_sg_vowel;
    const char *en;
    bool before_noun;  // French position: "un petit chat" vs "un chat noir"
    unsigned attr, pred;
} Adj;

#define THINGS (OBJ | VEHICLE)
static const Adj ADJS[] = {
    {"rouge", "rouge", "rouges", "rouges", NULL, "red", false, THINGS | FOOD, THINGS},
    {"noir", "noire", "noirs", "noires", NULL, "black", false, THINGS | ANIMAL, THINGS | ANIMAL},
    {"blanc", "blanche", "blancs", "blanches", NULL, "white", false, THINGS | ANIMAL | HOME, THINGS | ANIMAL},
    {"vert", "verte", "verts", "vertes", NULL, "green", false, THINGS | FOOD, THINGS},
    {"bleu", "bleue", "bleus", "bleues", NULL, "blue", false, THINGS, THINGS},
    {"jaune", "jaune", "jaunes", "jaunes", NULL, "yellow", false, THINGS | FOOD, THINGS},
    {"gris", "grise", "gris", "grises", NULL, "grey", false, THINGS | ANIMAL, THINGS | ANIMAL},
    {"petit", "petite", "petits", "petites", NULL, "small", true, THINGS | ANIMAL | PLACE, THINGS | ANIMAL | PLACE},
    {"grand", "grande", "grands", "grandes", NULL, "big", true, THINGS | ANIMAL | PLACE, THINGS | ANIMAL | PLACE},
    {"grand", "grande", "grands", "grandes", NULL, "tall", false, 0, PERSON},
    {"petit", "petite", "petits", "petites", NULL, "short", false, 0, PERSON},
    {"jeune", "jeune", "jeunes", "jeunes", NULL, "young", true, PERSON | ANIMAL, PERSON | ANIMAL},
    {"vieux", "vieille", "vieux", "vieilles", "vieil", "old", true, PERSON | ANIMAL | THINGS | PLACE, PERSON | ANIMAL | THINGS},
    {"beau", "belle", "beaux", "belles", "bel", "beautiful", true, PLACE | OBJ | ANIMAL | VIEW, PLACE | OBJ | ANIMAL | VIEW},
    {"bon", "bonne", "bons", "bonnes", NULL, "good", true, FOOD | DRINK | READ | VIEW, FOOD | DRINK | READ | VIEW},
    {"nouveau", "nouvelle", "nouveaux", "nouvelles", "nouvel", "new", true, THINGS | READ | HOME, THINGS | HOME},
    {"délicieux", "délicieuse", "délicieux", "délicieuses", NULL, "delicious", false, FOOD | DRINK, FOOD | DRINK},
    {"chaud", "chaude", "chauds", "chaudes", NULL, "hot", false, MASS, MASS},
    {"froid", "froide", "froids", "froides", NULL, "cold", false, MASS, MASS},
    {"cher", "chère", "chers", "chères", NULL, "expensive", false, THINGS | READ, THINGS},
    {"rapide", "rapide", "rapides", "rapides", NULL, "fast", false, VEHICLE | ANIMAL, VEHICLE | ANIMAL},
    {"lent", "lente", "lents", "lentes", NULL, "slow", false, VEHICLE | ANIMAL, VEHICLE | ANIMAL},
    {"intéressant", "intéressante", "intéressants", "intéressantes", NULL, "interesting", false, READ | VIEW, READ | VIEW},
    {"drôle", "drôle", "drôles", "drôles", NULL, "funny", false, VIEW | PERSON, VIEW | PERSON},
    {"fatigué", "fatiguée", "fatigués", "fatiguées", NULL, "tired", false, 0, PERSON | ANIMAL},
    {"content", "contente", "contents", "contentes", NULL, "happy", false, 0, PERSON},
    {"triste", "triste", "tristes", "tristes", NULL, "sad", false, PERSON, PERSON},
    {"malade", "malade", "malades", "malades", NULL, "sick", false, PERSON | ANIMAL, PERSON | ANIMAL},
    {"occupé", "occupée", "occupés", "occupées", NULL, "busy", false, 0, PERSON},
    {"prêt", "prête", "prêts", "prêtes", NULL, "ready", false, 0, PERSON},
    {"gentil", "gentille", "gentils", "gentilles", NULL, "kind", false, 0, PERSON},
    {"intelligent", "intelligente", "intelligents", "intelligentes", NULL, "smart", false, PERSON, PERSON},
    {"riche", "riche", "riches", "riches", NULL, "rich", false, PERSON, PERSON},
    {"propre", "propre", "propres", "propres", NULL, "clean", false, 0, OBJ | PLACE},
    {"sale", "sale", "sales", "sales", NULL, "dirty", false, 0, OBJ | PLACE},
};

// Professions follow "être" with no article in French; English adds "a"/"an".
typedef struct {
    const char *m_sg, *f_sg, *m_pl, *f_pl;
    const char *en_m, *en_f, *en_m_pl, *en_f_pl;
} Profession;

static const Profession PROFESSIONS[] = {
    {"étudiant", "étudiante", "étudiants", "étudiantes", "student", "student", "students", "students"},
    {"médecin", "médecin", "médecins", "médecins", "doctor", "doctor", "doctors", "doctors"},
    {"enseignant", "enseignante", "enseignants", "enseignantes", "teacher", "teacher", "teachers", "teachers"},
    {"ingénieur", "ingénieure", "ingénieurs", "ingénieures", "engineer", "engineer", "engineers", "engineers"},
    {"acteur", "actrice", "acteurs", "actrices", "actor", "actress", "actors", "actresses"},
    {"chanteur", "chanteuse", "chanteurs", "chanteuses", "singer", "singer", "singers", "singers"},
    {"avocat", "avocate", "avocats", "avocates", "lawyer", "lawyer", "lawyers", "lawyers"},
    {"infirmier", "infirmière", "infirmiers", "infirmières", "nurse", "nurse", "nurses", "nurses"},
    {"cuisinier", "cuisinière", "cuisiniers", "cuisinières", "cook", "cook", "cooks", "cooks"},
    {"boulanger", "boulangère", "boulangers", "boulangères", "baker", "baker", "bakers", "bakers"},
    {"serveur", "serveuse", "serveurs", "serveuses", "waiter", "waitress", "waiters", "waitresses"},
};

// Verbs: the six present-tense forms (je, tu, il/elle, nous, vous, ils/elles).
typedef struct {
    const char *fr[6];
    const char *infinitive;
    const char *en, *en_s;  // "eat", "eats"
    unsigned subj, obj;     // allowed subject / object classes (obj 0: intransitive)
    bool partitive;         // mass objects take du/de la: "je mange du pain"
} Verb;

static const Verb TRANSITIVE[] = {
    {{"mange", "manges", "mange", "mangeons", "mangez", "mangent"}, "manger", "eat", "eats", PERSON | ANIMAL, FOOD, true},
    {{"bois", "bois", "boit", "buvons", "buvez", "boivent"}, "boire", "drink", "drinks", PERSON, DRINK, true},
    {{"vois", "vois", "voit", "voyons", "voyez", "voient"}, "voir", "see", "sees", PERSON | ANIMAL, PERSON | ANIMAL | THINGS | PLACE, false},
    {{"regarde", "regardes", "regarde", "regardons", "regardez", "regardent"}, "regarder", "watch", "watches", PERSON, VIEW | ANIMAL | PERSON, false},
    {{"lis", "lis", "lit", "lisons", "lisez", "lisent"}, "lire", "read", "reads", PERSON, READ, false},
    {{"écris", "écris", "écrit", "écrivons", "écrivez", "écrivent"}, "écrire", "write", "writes", PERSON, WRITE, false},
    {{"achète", "achètes", "achète", "achetons", "achetez", "achètent"}, "acheter", "buy", "buys", PERSON, FOOD | DRINK | OBJ | READ, true},
    {{"ai", "as", "a", "avons", "avez", "ont"}, "avoir", "have", "has", PERSON, OBJ | ANIMAL | KIN, false},
    {{"prends", "prends", "prend", "prenons", "prenez", "prennent"}, "prendre", "take", "takes", PERSON, TRANSPORT, false},
    {{"trouve", "trouves", "trouve", "trouvons", "trouvez", "trouvent"}, "trouver", "find", "finds", PERSON | ANIMAL, OBJ, false},
    {{"cherche", "cherches", "cherche", "cherchons", "cherchez", "cherchent"}, "chercher", "look for", "looks for", PERSON | ANIMAL, OBJ | ANIMAL | PERSON, false},
    {{"prépare", "prépares", "prépare", "préparons", "préparez", "préparent"}, "préparer", "make", "makes", PERSON, FOOD, true},
};

static const Verb INTRANSITIVE[] = {
    {{"dors", "dors", "dort", "dormons", "dormez", "dorment"}, "dormir", "sleep", "sleeps", PERSON | ANIMAL, 0, false},
    {{"travaille", "travailles", "travaille", "travaillons", "travaillez", "travaillent"}, "travailler", "work", "works", PERSON, 0, false},
    {{"chante", "chantes", "chante", "chantons", "chantez", "chantent"}, "chanter", "sing", "sings", PERSON, 0, false},
    {{"danse", "danses", "danse", "dansons", "dansez", "dansent"}, "danser", "dance", "dances", PERSON, 0, false},
    {{"nage", "nages", "nage", "nageons", "nagez", "nagent"}, "nager", "swim", "swims", PERSON | ANIMAL, 0, false},
    {{"cours", "cours", "court", "courons", "courez", "courent"}, "courir", "run", "runs", PERSON | ANIMAL, 0, false},
    {{"marche", "marches", "marche", "marchons", "marchez", "marchent"}, "marcher", "walk", "walks", PERSON | ANIMAL, 0, false},
    {{"joue", "joues", "joue", "jouons", "jouez", "jouent"}, "jouer", "play", "plays", PERSON | ANIMAL, 0, false},
    {{"cuisine", "cuisines", "cuisine", "cuisinons", "cuisinez", "cuisinent"}, "cuisiner", "cook", "cooks", PERSON, 0, false},
    {{"lis", "lis", "lit", "lisons", "lisez", "lisent"}, "lire", "read", "reads", PERSON, 0, false},
    {{"écris", "écris", "écrit", "écrivons", "écrivez", "écrivent"}, "écrire", "write", "writes", PERSON, 0, false},
};

static const char *ETRE[6] = {"suis", "es", "est", "sommes", "êtes", "sont"};
static const char *AVOIR[6] = {"ai", "as", "a", "avons", "avez", "ont"};
static const char *AIMER[6] = {"aime", "aimes", "aime", "aimons", "aimez", "aiment"};
static const char *DETESTER[6] = {"déteste", "détestes", "déteste", "détestons", "détestez", "détestent"};
static const char *ALLER[6] = {"vais", "vas", "va", "allons", "allez", "vont"};
static const char *HABITER[6] = {"habite", "habites", "habite", "habitons", "habitez", "habitent"};
static const char *PARLER[6] = {"parle", "parles", "parle", "parlons", "parlez", "parlent"};
static const char *EN_BE[6] = {"am", "are", "is", "are", "are", "are"};

// Subject pronouns; il/elle/ils/elles always mean people (never "it").
static const char *PRONOUN_FR[8] = {"je", "tu", "il", "elle", "nous", "vous", "ils", "elles"};
static const char *PRONOUN_EN[8] = {"i", "you", "he", "she", "we", "you", "they", "they"};
static const int PRONOUN_PERSON[8] = {0, 1, 2, 2, 3, 4, 5, 5};

static const char *NAMES[][2] = {{"marie", "f"}, {"paul", "m"}, {"pierre", "m"}, {"sophie", "f"},
                                 {"lucas", "m"}, {"emma", "f"}, {"thomas", "m"}, {"julie", "f"},
                                 {"louis", "m"}, {"claire", "f"}};

// Possessives by owner: mon/ma/mes "my", ton/ta/tes "your", notre/nos "our",
// votre/vos "your", leur/leurs "their". (son/sa/ses is left out: his/her/its would
// be ambiguous from the French alone.)
static const char *POSS_M[5] = {"mon", "ton", "notre", "votre", "leur"};
static const char *POSS_F[5] = {"ma", "ta", "notre", "votre", "leur"};
static const char *POSS_PL[5] = {"mes", "tes", "nos", "vos", "leurs"};
static const char *POSS_EN[5] = {"my", "your", "our", "your", "their"};

static const char *NUMBERS[][2] = {{"deux", "two"}, {"trois", "three"}, {"quatre", "four"},
                                   {"cinq", "five"}, {"six", "six"}};

// "à" places: English says "at" after être and most verbs, "to" after aller.
static const char *A_PLACES[][3] = {
    {"à la maison", "at home", "home"},           {"à l'école", "at school", "to school"},
    {"au parc", "at the park", "to the park"},    {"à la plage", "at the beach", "to the beach"},
    {"au marché", "at the market", "to the market"},
    {"au restaurant", "at the restaurant", "to the restaurant"},
    {"au bureau", "at the office", "to the office"}, {"à la gare", "at the station", "to the station"},
    {"au cinéma", "at the cinema", "to the cinema"},
    {"à la bibliothèque", "at the library", "to the library"},
};
// Cities and countries: "in" after être/habiter, "to" after aller.
static const char *CITIES[][3] = {
    {"à paris", "in paris", "to paris"},     {"à lyon", "in lyon", "to lyon"},
    {"à londres", "in london", "to london"}, {"à rome", "in rome", "to rome"},
    {"à berlin", "in berlin", "to berlin"},  {"à madrid", "in madrid", "to madrid"},
    {"en france", "in france", "to france"}, {"en italie", "in italy", "to italy"},
    {"en espagne", "in spain", "to spain"},  {"en allemagne", "in germany", "to germany"},
    {"en angleterre", "in england", "to england"}, {"au canada", "in canada", "to canada"},
    {"au japon", "in japan", "to japan"},    {"au portugal", "in portugal", "to portugal"},
};
static const char *LANGUAGES[][2] = {{"français", "french"}, {"anglais", "english"}, {"espagnol", "spanish"},
                                     {"allemand", "german"}, {"italien", "italian"}, {"chinois", "chinese"},
                                     {"arabe", "arabic"},    {"japonais", "japanese"}};
// "avoir faim" -> "be hungry"
static const char *AVOIR_IDIOMS[][2] = {{"faim", "hungry"}, {"soif", "thirsty"}, {"froid", "cold"},
                                        {"chaud", "hot"},   {"peur", "afraid"},  {"sommeil", "sleepy"},
                                        {"raison", "right"}, {"tort", "wrong"}};
static const char *AGES[][2] = {{"dix", "ten"},       {"douze", "twelve"},  {"quinze", "fifteen"},
                                {"seize", "sixteen"}, {"vingt", "twenty"},  {"trente", "thirty"},
                                {"quarante", "forty"}, {"cinquante", "fifty"}, {"soixante", "sixty"}};
// Adverbs of frequency sit after the verb in French, before it in English.
static const char *FREQ[][2] = {{"souvent", "often"}, {"toujours", "always"}, {"rarement", "rarely"}};
// Manner and time adverbs stay at the end in both languages.
static const char *TAIL_ADV[][2] = {{"bien", "well"}, {"beaucoup", "a lot"}, {"ici", "here"},
                                    {"le matin", "in the morning"}, {"le soir", "in the evening"},
                                    {"aujourd'hui", "today"}, {"ensemble", "together"}};
// Things one likes to do: "j'aime nager" -> "i like to swim".
static const char *INFINITIVES[][2] = {{"nager", "swim"},   {"danser", "dance"}, {"chanter", "sing"},
                                       {"lire", "read"},    {"dormir", "sleep"}, {"cuisiner", "cook"},
                                       {"voyager", "travel"}, {"courir", "run"}, {"marcher", "walk"},
                                       {"jouer", "play"},   {"écrire", "write"}, {"travailler", "work"}};

// ---------------------------------------------------------------------------------
// Sentences as lists of words, joined at the end with French elision and contraction
// ---------------------------------------------------------------------------------
enum { MAX_WORDS = 48 };
typedef struct {
    const char *w[MAX_WORDS];
    int n;
} Words;

// Interned copies of split words; a few hundred distinct pieces at most.
static const char *intern(const char *s) {
    static char *table[1024];
    static int count;
    for (int i = 0; i < count; i++)
        if (strcmp(table[i], s) == 0) return table[i];
    if (count == 1024) die("make_fr_en: intern table full");
    table[count] = xmalloc(strlen(s) + 1);
    strcpy(table[count], s);
    return table[count++];
}

// Appends each space-separated word of s ("à la maison" is three words).
static void push(Words *ws, const char *s) {
    char buf[128];
    size_t len = strlen(s);
    if (!strchr(s, ' ')) {
        if (ws->n >= MAX_WORDS) die("make_fr_en: sentence too long");
        ws->w[ws->n++] = s;
        return;
    }
    // Split on spaces; the pieces are interned so they outlive this call.
    if (len >= sizeof buf) die("make_fr_en: phrase too long");
    memcpy(buf, s, len + 1);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        if (ws->n >= MAX_WORDS) die("make_fr_en: sentence too long");
        ws->w[ws->n++] = intern(tok);
    }
}

// A French word "starts with a vowel sound" for elision: a e i o u, accented vowels,
// œ, and mute h (every h-word in this vocabulary is mute: homme).
static bool fr_vowel(const char *w) {
    unsigned char c = (unsigned char)w[0];
    if (strchr("aeiouh", c) && c) return true;
    static const char *accented[] = {"é", "è", "ê", "à", "â", "î", "ô", "œ"};
    for (int i = 0; i < COUNT(accented); i++)
        if (strncmp(w, accented[i], strlen(accented[i])) == 0) return true;
    return false;
}

static bool en_vowel(const char *w) { return w[0] && strchr("aeiou", w[0]); }

// Joins French words applying, in order: contraction (à le -> au, à les -> aux,
// de le -> du, de les -> des; but "à l'école", "de l'eau" keep the elided article)
// and elision (je/ne/le/la/de/que before a vowel: j'aime, n'ai, l'eau, d'eau).
static void join_french(const Words *ws, char *out, size_t size) {
    const char *w[MAX_WORDS];
    int n = 0;
    for (int i = 0; i < ws->n; i++) {
        const char *a = ws->w[i], *b = i + 1 < ws->n ? ws->w[i + 1] : NULL;
        const char *c = i + 2 < ws->n ? ws->w[i + 2] : NULL;
        bool a_is_a = strcmp(a, "à") == 0, a_is_de = strcmp(a, "de") == 0;
        if ((a_is_a || a_is_de) && b && strcmp(b, "les") == 0) {
            w[n++] = a_is_a ? "aux" : "des";
            i++;
            continue;
        }
        if ((a_is_a || a_is_de) && b && strcmp(b, "le") == 0 && c && !fr_vowel(c)) {
            w[n++] = a_is_a ? "au" : "du";
            i++;
            continue;
        }
        w[n++] = a;
    }
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        static const char *elide[][2] = {{"je", "j'"}, {"ne", "n'"}, {"le", "l'"},
                                         {"la", "l'"}, {"de", "d'"}, {"que", "qu'"}};
        const char *piece = w[i];
        bool glue = false;
        if (i + 1 < n && fr_vowel(w[i + 1]))
            for (int k = 0; k < COUNT(elide); k++)
                if (strcmp(w[i], elide[k][0]) == 0) piece = elide[k][1], glue = true;
        int m = snprintf(out + used, size - used, "%s%s", piece, glue || i + 1 == n ? "" : " ");
        if (m < 0 || (size_t)m >= size - used) die("make_fr_en: sentence buffer too small");
        used += (size_t)m;
    }
}

// Joins English words; "a" becomes "an" before a vowel letter (an apple, an old car).
static void join_english(const Words *ws, char *out, size_t size) {
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < ws->n; i++) {
        const char *piece = ws->w[i];
        if (strcmp(piece, "a") == 0 && i + 1 < ws->n && en_vowel(ws->w[i + 1])) piece = "an";
        int m = snprintf(out + used, size - used, "%s%s", piece, i + 1 == ws->n ? "" : " ");
        if (m < 0 || (size_t)m >= size - used) die("make_fr_en: sentence buffer too small");
        used += (size_t)m;
    }
}

// ---------------------------------------------------------------------------------
// Noun phrases
// ---------------------------------------------------------------------------------
typedef enum { DET_DEF, DET_INDEF, DET_PART, DET_POSS, DET_DEM, DET_NUM } DetKind;

typedef struct {
    const Noun *noun;
    const Adj *adj;  // NULL: no adjective
    DetKind det;
    int owner;       // DET_POSS: 0..4; DET_NUM: index into NUMBERS
    bool plural;
} NounPhrase;

static int pick(Rng *rng, int n) { return (int)rng_below(rng, (uint32_t)n); }
static bool chance(Rng *rng, float p) { return rng_uniform(rng) < p; }

static const Noun *pick_noun(Rng *rng, unsigned cls) {
    for (;;) {
        const Noun *n = &NOUNS[pick(rng, COUNT(NOUNS))];
        if (n->cls & cls) return n;
    }
}

// An adjective that may describe this noun inside a noun phrase, or NULL.
static const Adj *pick_attr_adj(Rng *rng, const Noun *n) {
    for (int tries = 0; tries < 200; tries++) {
        const Adj *a = &ADJS[pick(rng, COUNT(ADJS))];
        if (a->attr & n->cls) return a;
    }
    return NULL;
}

static const Adj *pick_pred_adj(Rng *rng, unsigned cls) {
    for (;;) {
        const Adj *a = &ADJS[pick(rng, COUNT(ADJS))];
        if (a->pred & cls) return a;
    }
}

static const char *adj_form(const Adj *a, char gender, bool plural, const char *next) {
    if (plural) return gender == 'm' ? a->m_pl : a->f_pl;
    if (gender == 'f') return a->f_sg;
    if (next && a->m_sg_vowel && fr_vowel(next)) return a->m_sg_vowel;  // un vieil homme
    return a->m_sg;
}

// A random noun phrase of class cls. allowed is a bit set of DetKinds the caller
// accepts; the phrase respects countability (mass nouns: no un/des/plural/numbers).
static NounPhrase make_np(Rng *rng, unsigned cls, unsigned allowed, float p_adj) {
    NounPhrase np = {0};
    for (int tries = 0;; tries++) {
        // Pick a noun, then a determiner it accepts; a noun that accepts none of the
        // allowed ones (a mass noun where only un/une is allowed) is drawn again.
        if (tries % 50 == 0) np.noun = pick_noun(rng, cls);
        bool mass = np.noun->fr_pl == NULL;
        np.det = (DetKind)pick(rng, 6);
        if (!(allowed & (1u << np.det))) continue;
        if (mass && (np.det == DET_INDEF || np.det == DET_NUM)) continue;
        if (!mass && np.det == DET_PART) continue;
        if ((np.noun->cls & NO_POSS) && np.det == DET_POSS) continue;
        break;
    }
    bool mass = np.noun->fr_pl == NULL;
    np.plural = !mass && (np.det == DET_NUM || chance(rng, 0.35f));
    if (np.det == DET_POSS) np.owner = pick(rng, 5);
    if (np.det == DET_NUM) np.owner = pick(rng, COUNT(NUMBERS));
    np.adj = chance(rng, p_adj) ? pick_attr_adj(rng, np.noun) : NULL;
    return np;
}

// French words of a noun phrase. negated: "pas de" replaces un/une/des/du/de la.
static void np_french(Words *fr, const NounPhrase *np, bool negated) {
    const Noun *n = np->noun;
    const char *noun = np->plural ? n->fr_pl : n->fr_sg;
    const Adj *a = np->adj;
    const char *adj = a ? adj_form(a, n->gender, np->plural, noun) : NULL;
    // The word right after the determiner decides mon/ma, ce/cet.
    const char *next = a && a->before_noun ? adj : noun;
    bool m = n->gender == 'm';
    if (negated && (np->det == DET_INDEF || np->det == DET_PART)) {
        push(fr, "de");
    } else {
        switch (np->det) {
        case DET_DEF: push(fr, np->plural ? "les" : m ? "le" : "la"); break;
        case DET_INDEF:
            // Written French uses "de" before a plural adjective: "de petits chats".
            push(fr, np->plural ? (a && a->before_noun ? "de" : "des") : m ? "un" : "une");
            break;
        case DET_PART: push(fr, "de"), push(fr, m ? "le" : "la"); break;
        case DET_POSS:
            push(fr, np->plural ? POSS_PL[np->owner]
                     : (m || fr_vowel(next)) ? POSS_M[np->owner] : POSS_F[np->owner]);
            break;
        case DET_DEM: push(fr, np->plural ? "ces" : !m ? "cette" : fr_vowel(next) ? "cet" : "ce"); break;
        case DET_NUM: push(fr, NUMBERS[np->owner][0]); break;
        }
    }
    if (a && a->before_noun) push(fr, adj);
    push(fr, noun);
    if (a && !a->before_noun) push(fr, adj);
}

// English words of a noun phrase. generic: "j'aime les chats" -> "i like cats".
static void np_english(Words *en, const NounPhrase *np, bool generic) {
    const Noun *n = np->noun;
    switch (np->det) {
    case DET_DEF: if (!generic) push(en, "the"); break;
    case DET_INDEF: if (!np->plural) push(en, "a"); break;  // join makes "an"
    case DET_PART: break;
    case DET_POSS: push(en, POSS_EN[np->owner]); break;
    case DET_DEM: push(en, np->plural ? "these" : "this"); break;
    case DET_NUM: push(en, NUMBERS[np->owner][1]); break;
    }
    if (np->adj) push(en, np->adj->en);
    const char *word = np->plural ? n->en_pl : n->en_sg;
    for (int k = 0; k < COUNT(POSS_MEANING); k++)
        if (np->det == DET_POSS && strcmp(n->fr_sg, POSS_MEANING[k][0]) == 0)
            word = POSS_MEANING[k][np->plural ? 2 : 1];
    push(en, word);
}

// ---------------------------------------------------------------------------------
// Subjects
// ---------------------------------------------------------------------------------
typedef struct {
    int person;      // 0..5: je tu il nous vous ils
    char gender;     // for agreement of predicate adjectives and professions
    bool plural;
    unsigned cls;    // noun class of the subject (PERSON for pronouns and names)
} Subject;

// A subject allowed by cls: a pronoun or a name (people only) or a noun phrase.
static Subject make_subject_adj(Rng *rng, Words *fr, Words *en, unsigned cls, float p_adj) {
    Subject s = {0};
    float r = rng_uniform(rng);
    if ((cls & PERSON) && r < 0.55f) {
        int p = pick(rng, 8);
        push(fr, PRONOUN_FR[p]);
        push(en, PRONOUN_EN[p]);
        s.person = PRONOUN_PERSON[p];
        s.cls = PERSON;
        s.plural = s.person >= 3;
        if (p == 2 || p == 6) s.gender = 'm';
        else if (p == 3 || p == 7) s.gender = 'f';
        else s.gender = chance(rng, 0.5f) ? 'm' : 'f';  // je, tu, nous, vous: either
        if (s.person == 4) s.plural = chance(rng, 0.5f);  // polite singular "vous"
        return s;
    }
    if ((cls & PERSON) && r < 0.65f) {
        int k = pick(rng, COUNT(NAMES));
        push(fr, NAMES[k][0]);
        push(en, NAMES[k][0]);
        s.person = 2;
        s.gender = NAMES[k][1][0];
        s.cls = PERSON;
        return s;
    }
    NounPhrase np = make_np(rng, cls, (1u << DET_DEF) | (1u << DET_POSS) | (1u << DET_DEM), p_adj);
    np_french(fr, &np, false);
    np_english(en, &np, false);
    s.person = np.plural ? 5 : 2;
    s.gender = np.noun->gender;
    s.plural = np.plural;
    s.cls = np.noun->cls;
    return s;
}

static Subject make_subject(Rng *rng, Words *fr, Words *en, unsigned cls) {
    return make_subject_adj(rng, fr, en, cls, 0.25f);
}

// English verb after the subject: "eat"/"eats", or with negation "do not eat".
static void en_verb(Words *en, int person, const char *base, const char *s3, int neg) {
    if (neg == 1) push(en, person == 2 ? "does" : "do"), push(en, "not"), push(en, base);
    else if (neg == 2) push(en, "never"), push(en, person == 2 ? s3 : base);
    else push(en, person == 2 ? s3 : base);
}

// French verb with negation around it: neg 0 none, 1 "ne … pas", 2 "ne … jamais".
static void fr_verb(Words *fr, const char *form, int neg) {
    if (neg) push(fr, "ne");
    push(fr, form);
    if (neg == 1) push(fr, "pas");
    if (neg == 2) push(fr, "jamais");
}

// A location after a verb: "dans le jardin" -> "in the garden", "au parc" -> "at the
// park", "avec mon frère" -> "with my brother". who: the class of the subject.
static void location(Rng *rng, Words *fr, Words *en, unsigned who) {
    int kind = pick(rng, 4);
    if (kind == 0) {
        int k = pick(rng, COUNT(A_PLACES));
        push(fr, A_PLACES[k][0]);
        push(en, A_PLACES[k][1]);
    } else if (kind == 1 && (who & PERSON)) {
        push(fr, "avec");
        push(en, "with");
        if (chance(rng, 0.3f)) {
            int k = pick(rng, COUNT(NAMES));
            push(fr, NAMES[k][0]), push(en, NAMES[k][0]);
        } else {
            NounPhrase np = make_np(rng, PERSON, (1u << DET_DEF) | (1u << DET_POSS), 0.0f);
            np_french(fr, &np, false);
            np_english(en, &np, false);
        }
    } else {
        NounPhrase np = make_np(rng, PLACE, (1u << DET_DEF) | (1u << DET_POSS), 0.15f);
        np.plural = false;
        push(fr, "dans");
        push(en, "in");
        np_french(fr, &np, false);
        np_english(en, &np, false);
    }
}

// ---------------------------------------------------------------------------------
// Sentence templates. Each writes matching French and English word lists.
// ---------------------------------------------------------------------------------
static int pick_negation(Rng *rng, float p_pas, float p_jamais) {
    float r = rng_uniform(rng);
    return r < p_pas ? 1 : r < p_pas + p_jamais ? 2 : 0;
}

// "je suis étudiant" -> "i am a student"
static void s_profession(Rng *rng, Words *fr, Words *en) {
    Subject s = make_subject(rng, fr, en, PERSON);
    const Profession *p = &PROFESSIONS[pick(rng, COUNT(PROFESSIONS))];
    int neg = pick_negation(rng, 0.25f, 0.0f);
    fr_verb(fr, ETRE[s.person], neg);
    push(en, EN_BE[s.person]);
    if (neg) push(en, "not");
    bool f = s.gender == 'f';
    if (s.plural) {
        push(fr, f ? p->f_pl : p->m_pl);
        push(en, f ? p->en_f_pl : p->en_m_pl);
    } else {
        push(fr, f ? p->f_sg : p->m_sg);
        push(en, "a");
        push(en, f ? p->en_f : p->en_m);
    }
}

// "la voiture est rouge" -> "the car is red"; "elle est très fatiguée"
static void s_predicate(Rng *rng, Words *fr, Words *en) {
    unsigned who = chance(rng, 0.5f) ? PERSON : (ANIMAL | THINGS | PLACE | FOOD | READ | VIEW);
    // No adjective on the subject: not "le fromage froid est très froid".
    Subject s = make_subject_adj(rng, fr, en, who, 0.0f);
    const Adj *a = pick_pred_adj(rng, s.cls);
    int neg = pick_negation(rng, 0.25f, 0.0f);
    fr_verb(fr, ETRE[s.person], neg);
    push(en, EN_BE[s.person]);
    if (neg) push(en, "not");
    float r = rng_uniform(rng);
    if (r < 0.2f) push(fr, "très"), push(en, "very");
    else if (r < 0.3f && !neg) {
        int k = pick(rng, COUNT(FREQ));
        push(fr, FREQ[k][0]), push(en, FREQ[k][1]);
    }
    push(fr, adj_form(a, s.gender, s.plural, NULL));
    push(en, a->en);
}

// "le chat est sous la table" -> "the cat is under the table"
static void s_where(Rng *rng, Words *fr, Words *en) {
    unsigned who = chance(rng, 0.5f) ? PERSON : (ANIMAL | OBJ);
    Subject s = make_subject(rng, fr, en, who);
    int neg = pick_negation(rng, 0.2f, 0.0f);
    fr_verb(fr, ETRE[s.person], neg);
    push(en, EN_BE[s.person]);
    if (neg) push(en, "not");
    int kind = pick(rng, 4);
    if (kind == 0 && (s.cls & PERSON)) {
        int k = pick(rng, COUNT(CITIES));
        push(fr, CITIES[k][0]), push(en, CITIES[k][1]);
    } else if (kind == 1 && !(s.cls & PERSON)) {
        static const char *prep[][2] = {{"sur", "on"}, {"sous", "under"}, {"dans", "in"}};
        int k = pick(rng, 3);
        NounPhrase np = make_np(rng, k == 2 ? CONTAINER : SURFACE, (1u << DET_DEF) | (1u << DET_POSS), 0.2f);
        np.plural = false;
        push(fr, prep[k][0]), push(en, prep[k][1]);
        np_french(fr, &np, false);
        np_english(en, &np, false);
    } else {
        location(rng, fr, en, 0);  // a place, not "avec"
    }
}

// "je mange souvent du pain dans le jardin" -> "i often eat bread in the garden"
static void s_transitive(Rng *rng, Words *fr, Words *en) {
    const Verb *v = &TRANSITIVE[pick(rng, COUNT(TRANSITIVE))];
    Subject s = make_subject(rng, fr, en, v->subj);
    int neg = pick_negation(rng, 0.22f, 0.06f);
    int freq = !neg && chance(rng, 0.15f) ? pick(rng, COUNT(FREQ)) : -1;
    unsigned dets = (1u << DET_DEF) | (1u << DET_INDEF) | (1u << DET_POSS) | (1u << DET_DEM);
    if (v->partitive) dets |= 1u << DET_PART;
    if (!neg) dets |= 1u << DET_NUM;
    if (v->obj & TRANSPORT) dets = (1u << DET_DEF) | (1u << DET_INDEF);
    NounPhrase obj = make_np(rng, v->obj, dets, 0.3f);
    if (v->obj & TRANSPORT) obj.plural = false;
    // One has "a brother" or "two sisters", not "our friend": people after avoir take
    // un/une/des or a number.
    if ((v->obj & KIN) && (obj.noun->cls & PERSON))
        obj = make_np(rng, KIN, neg ? 1u << DET_INDEF : (1u << DET_INDEF) | (1u << DET_NUM), 0.3f);
    bool named = (v->obj & PERSON) && (obj.noun->cls & PERSON) && chance(rng, 0.3f);
    int name = pick(rng, COUNT(NAMES));
    // French: S (ne) V (pas) [souvent] OBJ [PP]; English: S [often] (do not) V OBJ [PP]
    fr_verb(fr, v->fr[s.person], neg);
    if (freq >= 0) push(fr, FREQ[freq][0]), push(en, FREQ[freq][1]);
    en_verb(en, s.person, v->en, v->en_s, neg);
    if (named) {
        push(fr, NAMES[name][0]), push(en, NAMES[name][0]);
    } else {
        np_french(fr, &obj, neg != 0);
        np_english(en, &obj, false);
    }
    // (Not after prendre: "je prends le train dans la cuisine" makes no sense.)
    if (!(v->obj & TRANSPORT) && chance(rng, 0.2f)) location(rng, fr, en, s.cls);
}

// "le chien dort" -> "the dog sleeps"; "elle chante bien" -> "she sings well"
static void s_intransitive(Rng *rng, Words *fr, Words *en) {
    const Verb *v = &INTRANSITIVE[pick(rng, COUNT(INTRANSITIVE))];
    Subject s = make_subject(rng, fr, en, v->subj);
    int neg = pick_negation(rng, 0.22f, 0.06f);
    bool freq = !neg && chance(rng, 0.2f);
    if (freq) {
        int k = pick(rng, COUNT(FREQ));
        fr_verb(fr, v->fr[s.person], 0);
        push(fr, FREQ[k][0]);
        push(en, FREQ[k][1]);
        en_verb(en, s.person, v->en, v->en_s, 0);
    } else {
        fr_verb(fr, v->fr[s.person], neg);
        en_verb(en, s.person, v->en, v->en_s, neg);
    }
    float r = rng_uniform(rng);
    if (r < 0.35f && !freq) {  // not "il joue souvent beaucoup"
        int k = pick(rng, COUNT(TAIL_ADV));
        // "ensemble" needs a plural subject.
        if (strcmp(TAIL_ADV[k][0], "ensemble") == 0 && !s.plural) k = 0;
        push(fr, TAIL_ADV[k][0]), push(en, TAIL_ADV[k][1]);
    } else if (r < 0.65f) {
        location(rng, fr, en, s.cls);
    }
}

// "je vais à l'école" -> "i go to school"
static void s_go(Rng *rng, Words *fr, Words *en) {
    Subject s = make_subject(rng, fr, en, PERSON);
    int neg = pick_negation(rng, 0.2f, 0.05f);
    fr_verb(fr, ALLER[s.person], neg);
    if (!neg && chance(rng, 0.2f)) {
        int k = pick(rng, COUNT(FREQ));
        push(fr, FREQ[k][0]), push(en, FREQ[k][1]);
    }
    en_verb(en, s.person, "go", "goes", neg);
    if (chance(rng, 0.6f)) {
        int k = pick(rng, COUNT(A_PLACES));
        push(fr, A_PLACES[k][0]), push(en, A_PLACES[k][2]);
    } else {
        int k = pick(rng, COUNT(CITIES));
        push(fr, CITIES[k][0]), push(en, CITIES[k][2]);
    }
}

// "j'habite à paris" -> "i live in paris"; "dans une petite maison" -> "in a small house"
static void s_live(Rng *rng, Words *fr, Words *en) {
    Subject s = make_subject(rng, fr, en, PERSON);
    int neg = pick_negation(rng, 0.2f, 0.0f);
    fr_verb(fr, HABITER[s.person], neg);
    en_verb(en, s.person, "live", "lives", neg);
    if (chance(rng, 0.5f)) {
        int k = pick(rng, COUNT(CITIES));
        push(fr, CITIES[k][0]), push(en, CITIES[k][1]);
    } else {
        NounPhrase np = make_np(rng, HOME, (1u << DET_DEF) | (1u << DET_INDEF) | (1u << DET_POSS), 0.5f);
        np.plural = false;
        push(fr, "dans"), push(en, "in");
        np_french(fr, &np, false);
        np_english(en, &np, false);
    }
}

// aimer/détester. Liking a kind of thing drops the article in English:
// "j'aime le chocolat" -> "i like chocolate", "il déteste les chats" -> "he hates cats".
// Loving a person: "j'aime ma mère" -> "i love my mother". Activities: "j'aime nager"
// -> "i like to swim". "beaucoup" moves: "j'aime beaucoup le thé" -> "i like tea a lot".
static void s_like(Rng *rng, Words *fr, Words *en) {
    Subject s = make_subject(rng, fr, en, PERSON);
    int neg = pick_negation(rng, 0.25f, 0.0f);
    int kind = pick(rng, 5);
    bool hate = kind <= 1 && chance(rng, 0.3f);
    const char *fr_form = (hate ? DETESTER : AIMER)[s.person];
    bool a_lot = !neg && !hate && kind != 3 && chance(rng, 0.15f);
    fr_verb(fr, fr_form, neg);
    if (a_lot) push(fr, "beaucoup");
    if (kind == 3) {
        en_verb(en, s.person, "love", "loves", neg);
        if (chance(rng, 0.4f)) {
            int k = pick(rng, COUNT(NAMES));
            push(fr, NAMES[k][0]), push(en, NAMES[k][0]);
        } else {
            NounPhrase np = make_np(rng, FAMILY, 1u << DET_POSS, 0.0f);
            np_french(fr, &np, false);
            np_english(en, &np, false);
        }
        return;
    }
    en_verb(en, s.person, hate ? "hate" : "like", hate ? "hates" : "likes", neg);
    if (kind == 4) {
        int k = pick(rng, COUNT(INFINITIVES));
        push(fr, INFINITIVES[k][0]);
        push(en, "to"), push(en, INFINITIVES[k][1]);
    } else if (kind == 0) {  // a mass noun, with le/la: generic
        NounPhrase np = make_np(rng, MASS, 1u << DET_DEF, 0.0f);
        np_french(fr, &np, false);
        np_english(en, &np, true);
    } else {  // a plural with les: generic
        NounPhrase np = make_np(rng, ANIMAL | FOOD | THINGS | READ | VIEW | PLACE, 1u << DET_DEF, 0.3f);
        while (np.noun->fr_pl == NULL) np = make_np(rng, ANIMAL | FOOD | THINGS | READ | VIEW | PLACE, 1u << DET_DEF, 0.3f);
        np.plural = true;
        np_french(fr, &np, false);
        np_english(en, &np, true);
    }
    if (a_lot) push(en, "a"), push(en, "lot");
}

// "nous parlons anglais" -> "we speak english"; "il parle bien espagnol" -> "he speaks
// spanish well" (the adverb moves to the end in English).
static void s_speak(Rng *rng, Words *fr, Words *en) {
    Subject s = make_subject(rng, fr, en, PERSON);
    int neg = pick_negation(rng, 0.25f, 0.0f);
    bool well = !neg && chance(rng, 0.3f);
    int k = pick(rng, COUNT(LANGUAGES));
    fr_verb(fr, PARLER[s.person], neg);
    if (well) push(fr, "bien");
    push(fr, LANGUAGES[k][0]);
    en_verb(en, s.person, "speak", "speaks", neg);
    push(en, LANGUAGES[k][1]);
    if (well) push(en, "well");
}

// "j'ai faim" -> "i am hungry"; "il a vingt ans" -> "he is twenty years old"
static void s_avoir_idiom(Rng *rng, Words *fr, Words *en) {
    Subject s = make_subject(rng, fr, en, chance(rng, 0.8f) ? PERSON : ANIMAL);
    int neg = pick_negation(rng, 0.25f, 0.0f);
    fr_verb(fr, AVOIR[s.person], neg);
    push(en, EN_BE[s.person]);
    if (neg) push(en, "not");
    if ((s.cls & PERSON) && chance(rng, 0.3f) && !neg) {
        int k = pick(rng, COUNT(AGES));
        push(fr, AGES[k][0]), push(fr, "ans");
        push(en, AGES[k][1]), push(en, "years"), push(en, "old");
        return;
    }
    int k = pick(rng, COUNT(AVOIR_IDIOMS));
    if (chance(rng, 0.2f) && k != 6 && k != 7) push(fr, "très"), push(en, "very");
    push(fr, AVOIR_IDIOMS[k][0]);
    push(en, AVOIR_IDIOMS[k][1]);
}

typedef void (*Template)(Rng *, Words *, Words *);
static const struct {
    Template make;
    int weight;
} TEMPLATES[] = {
    {s_profession, 8}, {s_predicate, 13}, {s_where, 9}, {s_transitive, 32}, {s_intransitive, 10},
    {s_go, 7},         {s_live, 5},       {s_like, 10}, {s_speak, 3},       {s_avoir_idiom, 5},
};

static int word_count(const char *s) {
    int n = 1;
    for (; *s; s++) n += *s == ' ';
    return n;
}

// One sentence pair within the length limits (2..10 words on each side).
static void make_pair(Rng *rng, char *fr, char *en, size_t size) {
    int total = 0;
    for (int i = 0; i < COUNT(TEMPLATES); i++) total += TEMPLATES[i].weight;
    for (;;) {
        int r = pick(rng, total), t = 0;
        while (r >= TEMPLATES[t].weight) r -= TEMPLATES[t].weight, t++;
        Words wf = {0}, we = {0};
        TEMPLATES[t].make(rng, &wf, &we);
        join_french(&wf, fr, size);
        join_english(&we, en, size);
        int nf = word_count(fr), ne = word_count(en);
        if (nf >= 2 && nf <= 10 && ne >= 2 && ne <= 10) return;
    }
}

// ---------------------------------------------------------------------------------
// A hash table French -> English, to keep pairs unique and check determinism
// ---------------------------------------------------------------------------------
typedef struct {
    char **fr, **en;
    size_t cap;
} Seen;

static uint64_t hash_string(const char *s) {
    uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

// What seen_insert found: a new French sentence (now recorded), one seen before with the
// same English, or one seen before with another English.
typedef enum { PAIR_NEW, PAIR_SEEN, PAIR_AMBIGUOUS } PairStatus;

// Looks fr up and records it with en if it is new. A French sentence with two English
// readings (a few nouns are the same word in the singular and the plural after "pas de":
// "pas de souris" is "a mouse" or "mice") is PAIR_AMBIGUOUS: the caller drops it, so
// that every French sentence of the corpus has one translation.
static PairStatus seen_insert(Seen *t, const char *fr, const char *en) {
    size_t i = hash_string(fr) & (t->cap - 1);
    while (t->fr[i]) {
        if (strcmp(t->fr[i], fr) == 0) return strcmp(t->en[i], en) == 0 ? PAIR_SEEN : PAIR_AMBIGUOUS;
        i = (i + 1) & (t->cap - 1);
    }
    t->fr[i] = xmalloc(strlen(fr) + 1), strcpy(t->fr[i], fr);
    t->en[i] = xmalloc(strlen(en) + 1), strcpy(t->en[i], en);
    return PAIR_NEW;
}

// A split's lines, kept in memory until every split is made: the files are then written
// whole (write_file_atomic), so a run that fails leaves the old corpus as it was.
typedef struct {
    char *data;
    size_t len, cap;
} Text;

// Appends one "fr<TAB>en" line to t.
static void text_add_pair(Text *t, const char *fr, const char *en) {
    size_t need = strlen(fr) + strlen(en) + 3;
    if (t->len + need > t->cap) {
        t->cap = (t->len + need) * 2;
        char *grown = xmalloc(t->cap);
        if (t->len) memcpy(grown, t->data, t->len);
        free(t->data);
        t->data = grown;
    }
    t->len += (size_t)snprintf(t->data + t->len, t->cap - t->len, "%s\t%s\n", fr, en);
}

// Rewrites a lower-case sentence as written text, in place: capital first letter (the
// grammar's sentences start with an ASCII letter), English "i" as "I" when is_english,
// and a final full stop (s has room for one more byte: size).
static void write_as_sentence(char *s, size_t size, bool is_english) {
    if (s[0] >= 'a' && s[0] <= 'z') s[0] = (char)(s[0] - 'a' + 'A');
    for (char *p = s; is_english && *p; p++) {
        bool alone = (p == s || p[-1] == ' ') && (p[1] == ' ' || p[1] == '\0');
        if (*p == 'i' && alone) *p = 'I';
    }
    size_t n = strlen(s);
    if (n + 2 <= size) s[n] = '.', s[n + 1] = '\0';
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: make_fr_en [--seed N] [--train N] [--valid N] [--test N] [--out DIR] [--written]\n"
            "Writes DIR/train.tsv, DIR/valid.tsv, DIR/test.tsv (default DIR data/fr-en):\n"
            "one 'french<TAB>english' pair per line, unique by the French side.\n"
            "--written: sentence case and a final full stop on both sides.\n"
            "Defaults: --seed 2017 --train 30000 --valid 1000 --test 1000.\n");
}

static long parse_count(const char *opt, const char *value) {
    char *end;
    long v = value ? strtol(value, &end, 10) : -1;
    if (!value || *end || v < 0 || v > 1000000) {
        fprintf(stderr, "make_fr_en: %s expects an integer in [0, 1000000], got '%s'\n", opt,
                value ? value : "(nothing)");
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    long seed = 2017, counts[3] = {30000, 1000, 1000};
    const char *out_dir = "data/fr-en";
    bool written_style = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout), 0;
        else if (!strcmp(a, "--seed")) seed = parse_count(a, v), i++;
        else if (!strcmp(a, "--train")) counts[0] = parse_count(a, v), i++;
        else if (!strcmp(a, "--valid")) counts[1] = parse_count(a, v), i++;
        else if (!strcmp(a, "--test")) counts[2] = parse_count(a, v), i++;
        else if (!strcmp(a, "--out")) {
            if (!v || !v[0]) die("make_fr_en: --out expects a directory, got %s", v ? "''" : "nothing");
            out_dir = v, i++;
        }
        else if (!strcmp(a, "--written")) written_style = true;
        else {
            fprintf(stderr, "make_fr_en: unknown option '%s' (try --help)\n", a);
            return 2;
        }
    }
    Rng rng;
    rng_seed(&rng, (uint64_t)seed, 42);
    long total = counts[0] + counts[1] + counts[2];
    Seen seen = {0};
    seen.cap = 1;
    while (seen.cap < (size_t)total * 2 + 16) seen.cap <<= 1;
    seen.fr = xcalloc(seen.cap, sizeof(char *));
    seen.en = xcalloc(seen.cap, sizeof(char *));

    static const char *names[3] = {"train", "valid", "test"};
    char fr[512], en[512];
    Text text[3] = {{0}};
    long ambiguous = 0;
    char first_ambiguous[512] = "";
    for (int split = 0; split < 3; split++) {
        long written = 0;
        // The classic tutorial example (not from the paper) opens the training set.
        if (split == 0 && counts[0] > 0) {
            seen_insert(&seen, "je suis étudiant", "i am a student");
            if (written_style) text_add_pair(&text[0], "Je suis étudiant.", "I am a student.");
            else text_add_pair(&text[0], "je suis étudiant", "i am a student");
            written++;
        }
        long attempts = 0;
        while (written < counts[split]) {
            if (++attempts > 1000 * (counts[split] + 10))
                die("make_fr_en: the grammar ran out of new sentences for the %s split (nothing written)",
                    names[split]);
            make_pair(&rng, fr, en, sizeof fr);
            PairStatus found = seen_insert(&seen, fr, en);
            if (found == PAIR_AMBIGUOUS && ambiguous++ == 0) snprintf(first_ambiguous, sizeof first_ambiguous, "%s", fr);
            if (found != PAIR_NEW) continue;
            if (written_style) write_as_sentence(fr, sizeof fr, false), write_as_sentence(en, sizeof en, true);
            text_add_pair(&text[split], fr, en);
            written++;
        }
    }
    for (int split = 0; split < 3; split++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.tsv", out_dir, names[split]);
        ErrorMessage err;
        if (!write_file_atomic(path, text[split].data ? text[split].data : "", text[split].len, &err))
            die("make_fr_en: %s", err.text);
        printf("wrote %ld pairs to %s\n", counts[split], path);
        free(text[split].data);
    }
    if (ambiguous)
        printf("dropped %ld French sentence%s that the grammar also gave another English (the first: \"%s\")\n",
               ambiguous, ambiguous == 1 ? "" : "s", first_ambiguous);
    return 0;
}
